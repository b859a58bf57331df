/*
 * analysis.c — the analysis of an index: component parameters (from index
 * settings or inline JSON), the built-in registry, custom analyzers and
 * normalizers from index.analysis.*, ad hoc analyzers for _analyze, and the
 * pipeline that runs an analyzer (char filters -> tokenizer -> filters) with
 * Lucene's offset and position bookkeeping.
 */
#include "index/index_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

/* ------------------------------------------------------------------------ */
/* Context */

void an_ctx_defer(an_ctx *c, void (*fn)(void *), void *obj)
{
    if (c->n_defer == c->cap_defer) {
        c->cap_defer = c->cap_defer ? c->cap_defer * 2 : 8;
        c->defer = xrealloc(c->defer, c->cap_defer * sizeof *c->defer);
    }
    c->defer[c->n_defer++] = (an_defer){ fn, obj };
}

void an_ctx_release(an_ctx *c)
{
    for (size_t i = c->n_defer; i-- > 0;) c->defer[i].fn(c->defer[i].obj);
    free(c->defer);
    c->defer = NULL;
    c->n_defer = c->cap_defer = 0;
    if (c->mem) arena_free(c->mem);
}

/* ------------------------------------------------------------------------ */
/* Parameters */

const char *an_param_str(const an_params *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->kv[i].key, key)) return p->kv[i].is_list ? NULL : p->kv[i].val;
    return NULL;
}

bool an_param_has(const an_params *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->kv[i].key, key)) return true;
    return false;
}

const char **an_param_list(const an_params *p, const char *key, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < p->n; i++) {
        an_kv *kv = &p->kv[i];
        if (strcmp(kv->key, key)) continue;
        if (kv->is_list) {
            *n = kv->n_list;
            return kv->list ? kv->list : (const char **)&kv->key; /* empty list: non-NULL, n 0 */
        }
        if (!kv->val) return NULL;
        *n = 1;
        return &kv->val;
    }
    return NULL;
}

int an_param_int(const an_params *p, const char *key, int64_t dflt, int64_t *out, es_err *err)
{
    const char *v = an_param_str(p, key);
    *out = dflt;
    if (!v) {
        if (an_param_has(p, key) && an_param_list(p, key, &(size_t){ 0 }))
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse value for setting [%s]", key);
        return 0;
    }
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno)
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse value [%s] for setting [%s]", v, key);
    *out = x;
    return 0;
}

int an_param_bool(const an_params *p, const char *key, bool dflt, bool *out, es_err *err)
{
    const char *v = an_param_str(p, key);
    *out = dflt;
    if (!v) return 0;
    if (!strcmp(v, "true")) *out = true;
    else if (!strcmp(v, "false")) *out = false;
    else
        return es_err_set(err, ES_ILLEGAL_ARGUMENT,
                          "Failed to parse value [%s] as only [true] or [false] are allowed.", v);
    return 0;
}

/* Elasticsearch's named word lists; only _english_ is built in here. */
static const char *const named_lists[] = {
    "_arabic_", "_armenian_", "_basque_", "_bengali_", "_brazilian_", "_bulgarian_", "_catalan_", "_cjk_",
    "_czech_", "_danish_", "_dutch_", "_estonian_", "_finnish_", "_french_", "_galician_", "_german_",
    "_greek_", "_hindi_", "_hungarian_", "_indonesian_", "_irish_", "_italian_", "_latvian_", "_lithuanian_",
    "_norwegian_", "_persian_", "_portuguese_", "_romanian_", "_russian_", "_serbian_", "_sorani_",
    "_spanish_", "_swedish_", "_thai_", "_turkish_",
};

int an_param_words(const an_params *p, const char *key, an_ctx *c, bool ignore_case, word_set *out, bool *has,
                   es_err *err)
{
    *has = false;
    memset(out, 0, sizeof *out);
    out->ignore_case = ignore_case;
    if (!an_param_has(p, key)) return 0;
    *has = true;
    const char *single = an_param_str(p, key);
    if (single && !strcmp(single, "_none_")) return 0;
    size_t n;
    const char **l = an_param_list(p, key, &n);
    size_t cap = n + an_english_stop_words_count + 1, m = 0;
    const char **words = xmalloc(cap * sizeof *words);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(l[i], "_english_")) {
            for (size_t k = 0; k < an_english_stop_words_count; k++) words[m++] = an_english_stop_words[k];
            continue;
        }
        for (size_t k = 0; k < ARRAY_LEN(named_lists); k++)
            if (!strcmp(l[i], named_lists[k])) {
                free(words);
                return es_err_set(err, ES_ILLEGAL_ARGUMENT,
                                  "the word list [%s] is not supported by this node (ferry); list the words instead",
                                  l[i]);
            }
        if (m == cap) words = xrealloc(words, (cap *= 2) * sizeof *words);
        words[m++] = l[i];
    }
    word_set_from(c, words, m, ignore_case, out);
    free(words);
    return 0;
}

/* Collects the settings under prefix ("index.analysis.filter.my.") into params. */
static void params_from_settings(arena *mem, const index_settings *s, const char *prefix, an_params *out)
{
    size_t pl = strlen(prefix), n = 0;
    memset(out, 0, sizeof *out);
    if (!s) return;
    for (size_t i = 0; i < s->n; i++)
        if (!strncmp(s->items[i].key, prefix, pl)) n++;
    out->kv = arena_alloc(mem, (n ? n : 1) * sizeof *out->kv);
    for (size_t i = 0; i < s->n; i++) {
        const index_setting *it = &s->items[i];
        if (strncmp(it->key, prefix, pl)) continue;
        an_kv *kv = &out->kv[out->n++];
        memset(kv, 0, sizeof *kv);
        kv->key = it->key + pl;
        if (it->is_list) {
            kv->is_list = true;
            kv->n_list = it->n_list;
            kv->list = (const char **)it->list;
        } else {
            kv->val = it->value;
        }
    }
}

static void params_add_json(arena *mem, const char *prefix, const json_val *v, an_kv **kv, size_t *n, size_t *cap)
{
    json_iter it = json_iter_begin(v);
    const json_val *m;
    const char *k;
    size_t kl;
    buf tmp = { 0 };
    while ((m = json_iter_next(&it, &k, &kl))) {
        char *key = xasprintf("%s%.*s", prefix, (int)kl, k);
        if (json_type_of(m) == JSON_OBJECT) {
            char *sub = xasprintf("%s.", key);
            params_add_json(mem, sub, m, kv, n, cap);
            free(sub);
            free(key);
            continue;
        }
        if (*n == *cap) *kv = xrealloc(*kv, (*cap = *cap ? *cap * 2 : 8) * sizeof **kv);
        an_kv *e = &(*kv)[(*n)++];
        memset(e, 0, sizeof *e);
        e->key = arena_strndup(mem, key, strlen(key));
        free(key);
        if (json_type_of(m) == JSON_ARRAY) {
            e->is_list = true;
            e->n_list = json_len(m);
            e->list = arena_alloc(mem, (e->n_list ? e->n_list : 1) * sizeof *e->list);
            for (size_t i = 0; i < e->n_list; i++) {
                size_t sl;
                buf_reset(&tmp);
                const char *s = json_scalar_text(json_arr_get(m, i), &sl, &tmp);
                e->list[i] = arena_strndup(mem, s ? s : "", s ? sl : 0);
            }
        } else if (json_type_of(m) != JSON_NULL) {
            size_t sl;
            buf_reset(&tmp);
            const char *s = json_scalar_text(m, &sl, &tmp);
            e->val = arena_strndup(mem, s ? s : "", s ? sl : 0);
        }
    }
    buf_free(&tmp);
}

static void params_from_json(arena *mem, const json_val *def, an_params *out)
{
    an_kv *kv = NULL;
    size_t n = 0, cap = 0;
    params_add_json(mem, "", def, &kv, &n, &cap);
    out->kv = arena_alloc(mem, (n ? n : 1) * sizeof *out->kv);
    if (n) memcpy(out->kv, kv, n * sizeof *kv);
    out->n = n;
    free(kv);
}

/* ------------------------------------------------------------------------ */
/* Analyzers and the analysis */

struct analyzer {
    const char *name;
    bool custom;                 /* made of named components (explain shows the stages) */
    int gap;
    const an_charfilter **cf;
    size_t ncf;
    const an_tokenizer *tok;
    const an_filter **f;
    size_t nf;
    an_ctx *own;                 /* ad hoc analyzers own their memory */
};

typedef struct named {
    const char *name;
    void *obj;
} named;

typedef struct registry {
    named *v;
    size_t n, cap;
} registry;

static void reg_put(registry *r, const char *name, void *obj)
{
    if (r->n == r->cap) r->v = xrealloc(r->v, (r->cap = r->cap ? r->cap * 2 : 16) * sizeof *r->v);
    r->v[r->n++] = (named){ name, obj };
}

static void *reg_get(const registry *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->v[i].name, name)) return r->v[i].obj;
    return NULL;
}

struct analysis {
    bool shared;
    arena mem;
    an_ctx ctx;
    const index_settings *settings; /* a private clone */
    registry tokenizers, filters, char_filters, analyzers, normalizers;
    const analyzer *dflt;
    int64_t max_token_count;
};

static analysis *builtins;
static pthread_once_t builtins_once = PTHREAD_ONCE_INIT;

static analyzer *analyzer_alloc(an_ctx *c, const char *name, bool custom, int gap)
{
    analyzer *an = arena_alloc(c->mem, sizeof *an);
    memset(an, 0, sizeof *an);
    an->name = arena_strndup(c->mem, name, strlen(name));
    an->custom = custom;
    an->gap = gap;
    return an;
}

static void an_add_filter(an_ctx *c, analyzer *an, const an_filter *f, size_t cap)
{
    if (!an->f) an->f = arena_alloc(c->mem, cap * sizeof *an->f);
    an->f[an->nf++] = f;
}

/* Built-in analyzers ("standard", "english"...), also the `type` of a configured analyzer. */
static const char *const analyzer_types[] = { "standard", "simple", "whitespace", "stop", "keyword", "english",
                                              "snowball", "fingerprint", "pattern" };

static bool analyzer_type_known(const char *t)
{
    for (size_t i = 0; i < ARRAY_LEN(analyzer_types); i++)
        if (!strcmp(t, analyzer_types[i])) return true;
    return false;
}

static an_filter *stop_filter(an_ctx *c, const an_params *p, const char *const *dflt, size_t ndflt, es_err *err)
{
    an_filter *f = an_filter_new(c, "stop", "stop", NULL, err);
    if (!f) return NULL;
    bool has;
    if (an_param_words(p, "stopwords", c, false, &f->words, &has, err)) return NULL;
    if (an_param_has(p, "stopwords_path"))
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "stopwords_path is not supported by this node (ferry)"), NULL;
    if (!has) word_set_from(c, dflt, ndflt, false, &f->words);
    return f;
}

static analyzer *typed_analyzer(an_ctx *c, const char *type, const char *name, const an_params *p, int gap,
                                es_err *err)
{
    static const an_params none = { 0 };
    if (!p) p = &none;
    analyzer *an = analyzer_alloc(c, name, false, gap);
    if (!strcmp(type, "standard")) {
        an->tok = an_tokenizer_new(c, "standard", "standard", p, err);
        if (!an->tok) return NULL;
        an_add_filter(c, an, an_filter_new(c, "lowercase", "lowercase", NULL, err), 2);
        an_filter *st = stop_filter(c, p, NULL, 0, err);
        if (!st) return NULL;
        if (st->words.n) an_add_filter(c, an, st, 2);
    } else if (!strcmp(type, "simple") || !strcmp(type, "stop")) {
        an->tok = an_tokenizer_new(c, "letter", "letter", NULL, err);
        an_add_filter(c, an, an_filter_new(c, "lowercase", "lowercase", NULL, err), 2);
        if (type[1] == 't') {
            an_filter *st = stop_filter(c, p, an_english_stop_words, an_english_stop_words_count, err);
            if (!st) return NULL;
            an_add_filter(c, an, st, 2);
        }
    } else if (!strcmp(type, "whitespace")) {
        an->tok = an_tokenizer_new(c, "whitespace", "whitespace", NULL, err);
    } else if (!strcmp(type, "keyword")) {
        an->tok = an_tokenizer_new(c, "keyword", "keyword", NULL, err);
    } else if (!strcmp(type, "english")) {
        an->tok = an_tokenizer_new(c, "standard", "standard", NULL, err);
        an_filter *poss = an_filter_new(c, "stemmer", "possessive_english", NULL, err);
        poss->kind = TF_POSSESSIVE_EN;
        poss->keyword_attr = false;
        an_add_filter(c, an, poss, 5);
        an_add_filter(c, an, an_filter_new(c, "lowercase", "lowercase", NULL, err), 5);
        an_filter *st = stop_filter(c, p, an_english_stop_words, an_english_stop_words_count, err);
        if (!st) return NULL;
        an_add_filter(c, an, st, 5);
        bool has;
        word_set ex;
        if (an_param_words(p, "stem_exclusion", c, true, &ex, &has, err)) return NULL;
        if (has && ex.n) {
            an_filter *km = an_filter_new(c, "keyword_marker", "keyword_marker",
                                          &(an_params){ .kv = (an_kv[]){ { .key = "keywords", .val = "x" } }, .n = 1 },
                                          err);
            if (!km) return NULL;
            km->words = ex;
            an_add_filter(c, an, km, 5);
        }
        an_add_filter(c, an, an_filter_new(c, "porter_stem", "porter_stem", NULL, err), 5);
    } else if (!strcmp(type, "snowball")) {
        /* Lucene's SnowballAnalyzer; language names are exact ("English", "German"...) */
        const char *lang = an_param_str(p, "language");
        if (!lang) lang = an_param_str(p, "name");
        if (!lang) lang = "English";
        if (!an_param_has(p, "stopwords") &&
            (!strcmp(lang, "Dutch") || !strcmp(lang, "German") || !strcmp(lang, "German2") || !strcmp(lang, "French")))
            return es_err_set(err, ES_ILLEGAL_ARGUMENT,
                              "the default stop words of the snowball analyzer for [%s] are not built into this node "
                              "(ferry); set [stopwords]",
                              lang),
                   NULL;
        an->tok = an_tokenizer_new(c, "standard", "standard", NULL, err);
        bool english = !strcmp(lang, "English");
        if (english || !strcmp(lang, "Porter") || !strcmp(lang, "Lovins")) {
            an_filter *poss = an_filter_new(c, "stemmer", "possessive_english", NULL, err);
            poss->kind = TF_POSSESSIVE_EN;
            poss->keyword_attr = false;
            an_add_filter(c, an, poss, 4);
        }
        an_filter *lc = an_filter_new(c, "lowercase", "lowercase", NULL, err);
        if (!strcmp(lang, "Turkish")) lc->lang = 3;
        an_add_filter(c, an, lc, 4);
        an_filter *st = stop_filter(c, p, english ? an_english_stop_words : NULL,
                                    english ? an_english_stop_words_count : 0, err);
        if (!st) return NULL;
        if (st->words.n) an_add_filter(c, an, st, 4);
        an_params sp = { .kv = (an_kv[]){ { .key = "language", .val = lang } }, .n = 1 };
        an_filter *sb = an_filter_new(c, "snowball", "snowball", &sp, err);
        if (!sb) return NULL;
        an_add_filter(c, an, sb, 4);
    } else if (!strcmp(type, "fingerprint")) {
        an->tok = an_tokenizer_new(c, "standard", "standard", NULL, err);
        an_add_filter(c, an, an_filter_new(c, "lowercase", "lowercase", NULL, err), 4);
        an_add_filter(c, an, an_filter_new(c, "asciifolding", "asciifolding", NULL, err), 4);
        an_filter *st = stop_filter(c, p, NULL, 0, err);
        if (!st) return NULL;
        if (st->words.n) an_add_filter(c, an, st, 4);
        an_filter *fp = an_filter_new(c, "fingerprint", "fingerprint", p, err);
        if (!fp) return NULL;
        an_add_filter(c, an, fp, 4);
    } else if (!strcmp(type, "pattern")) {
        an_tokenizer *tk = an_tokenizer_new(c, "pattern", "pattern", p, err);
        if (!tk) return NULL;
        tk->group = -1;
        bool lower;
        if (an_param_bool(p, "lowercase", true, &lower, err)) return NULL;
        an->tok = tk;
        if (lower) an_add_filter(c, an, an_filter_new(c, "lowercase", "lowercase", NULL, err), 2);
        an_filter *st = stop_filter(c, p, NULL, 0, err);
        if (!st) return NULL;
        if (st->words.n) an_add_filter(c, an, st, 2);
    } else {
        return NULL;
    }
    return an;
}

static const char *const builtin_tokenizer_names[] = {
    "standard", "uax_url_email", "whitespace", "keyword", "letter", "lowercase", "ngram", "edge_ngram",
    "path_hierarchy", "PathHierarchy", "char_group", "pattern",
};
static const char *const builtin_filter_names[] = {
    "lowercase", "uppercase", "asciifolding", "stop", "stemmer", "porter_stem", "snowball", "length", "trim",
    "unique", "truncate", "reverse", "shingle", "ngram", "edge_ngram", "elision", "apostrophe", "decimal_digit",
    "limit", "fingerprint", "remove_duplicates",
};

static void builtins_init(void)
{
    analysis *a = xcalloc(1, sizeof *a);
    a->shared = true;
    a->ctx.mem = &a->mem;
    a->max_token_count = 10000;
    es_err err = { 0 };
    for (size_t i = 0; i < ARRAY_LEN(builtin_tokenizer_names); i++) {
        const char *n = builtin_tokenizer_names[i];
        reg_put(&a->tokenizers, n, an_tokenizer_new(&a->ctx, n, n, NULL, &err));
    }
    for (size_t i = 0; i < ARRAY_LEN(builtin_filter_names); i++) {
        const char *n = builtin_filter_names[i];
        reg_put(&a->filters, n, an_filter_new(&a->ctx, n, n, NULL, &err));
    }
    reg_put(&a->char_filters, "html_strip", an_charfilter_new(&a->ctx, "html_strip", "html_strip", NULL, &err));
    for (size_t i = 0; i < ARRAY_LEN(analyzer_types); i++) {
        const char *n = analyzer_types[i];
        reg_put(&a->analyzers, n, typed_analyzer(&a->ctx, n, n, NULL, 100, &err));
    }
    analyzer *d = typed_analyzer(&a->ctx, "standard", "default", NULL, 100, &err);
    reg_put(&a->analyzers, "default", d);
    a->dflt = d;
    analyzer *lc = analyzer_alloc(&a->ctx, "lowercase", true, 0);
    lc->tok = reg_get(&a->tokenizers, "keyword");
    an_add_filter(&a->ctx, lc, reg_get(&a->filters, "lowercase"), 1);
    reg_put(&a->normalizers, "lowercase", lc);
    if (es_err_isset(&err)) {
        log_error("analysis", "built-in analysis failed: %s", err.reason);
        abort();
    }
    builtins = a;
}

analysis *analysis_default(void)
{
    pthread_once(&builtins_once, builtins_init);
    return builtins;
}

void analysis_free(analysis *a)
{
    if (!a || a->shared) return;
    an_ctx_release(&a->ctx);
    free(a->tokenizers.v);
    free(a->filters.v);
    free(a->char_filters.v);
    free(a->analyzers.v);
    free(a->normalizers.v);
    index_settings_free((index_settings *)a->settings);
    free(a);
}

/* Component lookups: the index's own definitions first, then the built-ins. */
static const an_tokenizer *find_tokenizer(const analysis *a, const char *name)
{
    const an_tokenizer *t = a ? reg_get(&a->tokenizers, name) : NULL;
    return t ? t : reg_get(&analysis_default()->tokenizers, name);
}

static const an_filter *find_filter(const analysis *a, const char *name)
{
    const an_filter *f = a ? reg_get(&a->filters, name) : NULL;
    return f ? f : reg_get(&analysis_default()->filters, name);
}

static const an_charfilter *find_charfilter(const analysis *a, const char *name)
{
    const an_charfilter *f = a ? reg_get(&a->char_filters, name) : NULL;
    return f ? f : reg_get(&analysis_default()->char_filters, name);
}

const analyzer *analysis_get(const analysis *a, const char *name)
{
    if (!name) return NULL;
    if (!a) a = analysis_default();
    if (!strcmp(name, "default")) return a->dflt;
    const analyzer *an = reg_get(&a->analyzers, name);
    if (an || a == builtins) return an;
    return reg_get(&analysis_default()->analyzers, name);
}

const analyzer *analysis_normalizer(const analysis *a, const char *name)
{
    if (!name) return NULL;
    if (!a) a = analysis_default();
    const analyzer *an = reg_get(&a->normalizers, name);
    if (an || a == builtins) return an;
    return reg_get(&analysis_default()->normalizers, name);
}

int64_t analysis_max_token_count(const analysis *a)
{
    return a ? a->max_token_count : 10000;
}

/* The distinct NAMEs of "index.analysis.<kind>.NAME.*", sorted. */
static char **group_names(const index_settings *s, const char *kind, size_t *n)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "index.analysis.%s.", kind);
    size_t pl = strlen(prefix), cap = 0;
    char **names = NULL;
    *n = 0;
    for (size_t i = 0; s && i < s->n; i++) {
        const char *k = s->items[i].key;
        if (strncmp(k, prefix, pl)) continue;
        const char *name = k + pl, *dot = strchr(name, '.');
        size_t nl = dot ? (size_t)(dot - name) : strlen(name);
        if (!nl) continue;
        bool seen = false;
        for (size_t j = 0; j < *n && !seen; j++) seen = strlen(names[j]) == nl && !strncmp(names[j], name, nl);
        if (seen) continue;
        if (*n == cap) names = xrealloc(names, (cap = cap ? cap * 2 : 8) * sizeof *names);
        names[(*n)++] = xstrndup(name, nl);
    }
    return names;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

static void component_params(analysis *a, const char *kind, const char *name, an_params *p)
{
    char *prefix = xasprintf("index.analysis.%s.%s.", kind, name);
    params_from_settings(&a->mem, a->settings, prefix, p);
    free(prefix);
}

/* Resolves the names in list into filters / char filters of a custom analyzer or normalizer. */
static int custom_components(analysis *a, analyzer *an, const an_params *p, bool normalizer, es_err *err)
{
    const char *what = normalizer ? "Custom normalizer" : "Custom Analyzer";
    size_t ncf, nf;
    const char **cfs = an_param_list(p, "char_filter", &ncf);
    const char **fs = an_param_list(p, "filter", &nf);
    (void)cfs;
    an->cf = arena_alloc(&a->mem, (ncf ? ncf : 1) * sizeof *an->cf);
    for (size_t i = 0; i < ncf; i++) {
        const an_charfilter *cf = find_charfilter(a, cfs[i]);
        if (!cf)
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "%s [%s] failed to find char_filter under name [%s]", what,
                              an->name, cfs[i]);
        if (normalizer && !cf->normalizing)
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Custom normalizer [%s] may not use char filter [%s]",
                              an->name, cfs[i]);
        an->cf[an->ncf++] = cf;
    }
    an->f = arena_alloc(&a->mem, (nf ? nf : 1) * sizeof *an->f);
    for (size_t i = 0; i < nf; i++) {
        const an_filter *f = find_filter(a, fs[i]);
        if (!f)
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "%s [%s] failed to find filter under name [%s]", what,
                              an->name, fs[i]);
        if (normalizer && !f->normalizing)
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Custom normalizer [%s] may not use filter [%s]", an->name,
                              fs[i]);
        an->f[an->nf++] = f;
    }
    return 0;
}

static int build_components(analysis *a, const char *kind, es_err *err)
{
    size_t n;
    char **names = group_names(a->settings, kind, &n);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        an_params p;
        component_params(a, kind, names[i], &p);
        const char *type = an_param_str(&p, "type");
        if (!type) {
            rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "%s [%s] must specify either an analyzer type, or a tokenizer",
                            kind, names[i]);
            break;
        }
        void *obj = NULL;
        bool known = !strcmp(kind, "tokenizer") ? an_tokenizer_type_known(type)
                     : !strcmp(kind, "filter")  ? an_filter_type_known(type)
                                                : an_charfilter_type_known(type);
        if (!known) {
            rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "Unknown %s type [%s] for [%s]", kind, type, names[i]);
            break;
        }
        if (!strcmp(kind, "tokenizer")) obj = an_tokenizer_new(&a->ctx, type, names[i], &p, err);
        else if (!strcmp(kind, "filter")) obj = an_filter_new(&a->ctx, type, names[i], &p, err);
        else obj = an_charfilter_new(&a->ctx, type, names[i], &p, err);
        if (!obj) {
            if (!es_err_isset(err))
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "Unknown %s type [%s] for [%s]", kind, type, names[i]);
            rc = -1;
            break;
        }
        const char *stored = arena_strndup(&a->mem, names[i], strlen(names[i]));
        if (!strcmp(kind, "tokenizer")) reg_put(&a->tokenizers, stored, obj);
        else if (!strcmp(kind, "filter")) reg_put(&a->filters, stored, obj);
        else reg_put(&a->char_filters, stored, obj);
    }
    free_names(names, n);
    return rc;
}

static int build_analyzers(analysis *a, es_err *err)
{
    size_t n;
    char **names = group_names(a->settings, "analyzer", &n);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const char *name = names[i];
        an_params p;
        component_params(a, "analyzer", name, &p);
        const char *type = an_param_str(&p, "type");
        bool has_tok = an_param_has(&p, "tokenizer");
        analyzer *an = NULL;
        if (!type && !has_tok) {
            rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "analyzer [%s] must specify either an analyzer type, or a tokenizer",
                            name);
            break;
        }
        if (!type || !strcmp(type, "custom")) {
            int64_t gap;
            if (an_param_int(&p, "position_increment_gap", 100, &gap, err)) {
                rc = -1;
                break;
            }
            an = analyzer_alloc(&a->ctx, name, true, (int)gap);
            const char *tn = an_param_str(&p, "tokenizer");
            if (!tn) {
                rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "Custom Analyzer [%s] must be configured with a tokenizer",
                                name);
                break;
            }
            an->tok = find_tokenizer(a, tn);
            if (!an->tok) {
                rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "Custom Analyzer [%s] failed to find tokenizer under name [%s]",
                                name, tn);
                break;
            }
            if (custom_components(a, an, &p, false, err)) {
                rc = -1;
                break;
            }
        } else {
            if (!analyzer_type_known(type)) {
                rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "Unknown analyzer type [%s] for [%s]", type, name);
                break;
            }
            an = typed_analyzer(&a->ctx, type, name, &p, 100, err);
            if (!an) {
                rc = -1;
                break;
            }
        }
        reg_put(&a->analyzers, an->name, an);
    }
    free_names(names, n);
    if (rc) return rc;
    for (size_t i = 0; i < a->analyzers.n; i++) {
        const char *nm = a->analyzers.v[i].name;
        if (!strcmp(nm, "default_index"))
            return es_err_set(err, ES_ILLEGAL_ARGUMENT,
                              "setting [index.analysis.analyzer.default_index] is not supported anymore, use "
                              "[index.analysis.analyzer.default] instead for index [%s]",
                              index_settings_get(a->settings, "index.provided_name")
                                  ? index_settings_get(a->settings, "index.provided_name")
                                  : "_na_");
        if (nm[0] == '_')
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "analyzer name must not start with '_'. got \"%s\"", nm);
    }
    return 0;
}

static int build_normalizers(analysis *a, es_err *err)
{
    size_t n;
    char **names = group_names(a->settings, "normalizer", &n);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        an_params p;
        component_params(a, "normalizer", names[i], &p);
        const char *type = an_param_str(&p, "type");
        if (type && strcmp(type, "custom")) {
            rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "Unknown normalizer type [%s] for [%s]", type, names[i]);
            break;
        }
        if (an_param_has(&p, "tokenizer")) {
            rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "Custom normalizer [%s] cannot configure a tokenizer", names[i]);
            break;
        }
        analyzer *an = analyzer_alloc(&a->ctx, names[i], true, 0);
        an->tok = reg_get(&analysis_default()->tokenizers, "keyword");
        if (custom_components(a, an, &p, true, err)) rc = -1;
        else reg_put(&a->normalizers, an->name, an);
    }
    free_names(names, n);
    return rc;
}

analysis *analysis_build(const index_settings *settings, es_err *err)
{
    analysis_default();
    analysis *a = xcalloc(1, sizeof *a);
    a->ctx.mem = &a->mem;
    a->settings = settings ? index_settings_clone(settings) : index_settings_new();
    a->ctx.index = a->settings;
    a->max_token_count = index_settings_get_int(a->settings, "index.analyze.max_token_count", 10000);
    if (build_components(a, "char_filter", err) || build_components(a, "tokenizer", err) ||
        build_components(a, "filter", err) || build_analyzers(a, err) || build_normalizers(a, err)) {
        analysis_free(a);
        return NULL;
    }
    a->dflt = reg_get(&a->analyzers, "default");
    if (!a->dflt) a->dflt = analysis_default()->dflt;
    return a;
}

/* ------------------------------------------------------------------------ */
/* Fields and mappings */

static char *param_string(const mfield *f, const char *name)
{
    const mparam *mp = mfield_param(f, name);
    if (!mp || !mp->json) return NULL;
    json_doc *d = json_parse(mp->json, strlen(mp->json), NULL, NULL);
    if (!d) return NULL;
    size_t n;
    const char *s = json_str(json_doc_root(d), &n);
    char *r = s ? xstrndup(s, n) : NULL;
    json_doc_free(d);
    return r;
}

static bool keyword_like(field_type t)
{
    return t == FT_KEYWORD || t == FT_WILDCARD || t == FT_CONSTANT_KEYWORD;
}

const analyzer *analysis_for_field(const analysis *a, const mfield *f, bool search)
{
    if (!a) a = analysis_default();
    if (!f) {
        if (search) {
            const analyzer *ds = analysis_get(a, "default_search");
            if (ds && a != builtins && reg_get(&a->analyzers, "default_search")) return ds;
        }
        return a->dflt;
    }
    if (keyword_like(f->type)) {
        char *norm = f->type == FT_KEYWORD ? param_string(f, "normalizer") : NULL;
        const analyzer *an = norm ? analysis_normalizer(a, norm) : NULL;
        free(norm);
        return an ? an : analysis_get(a, "keyword");
    }
    const analyzer *an = NULL;
    if (search && f->search_analyzer) an = analysis_get(a, f->search_analyzer);
    if (!an && f->analyzer) an = analysis_get(a, f->analyzer);
    if (!an && search && a != builtins) an = reg_get(&a->analyzers, "default_search");
    return an ? an : a->dflt;
}

static int check_field(const analysis *a, const mfield *f, es_err *err)
{
    if (f->type == FT_TEXT || f->type == FT_MATCH_ONLY_TEXT) {
        const char *names[3] = { f->analyzer, f->search_analyzer, NULL };
        char *sq = param_string(f, "search_quote_analyzer");
        names[2] = sq;
        for (size_t i = 0; i < 3; i++) {
            if (names[i] && !analysis_get(a, names[i])) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "analyzer [%s] has not been configured in mappings", names[i]);
                err_wrap(err, ES_MAPPER_PARSING, "Failed to parse mapping: analyzer [%s] has not been configured in mappings",
                         names[i]);
                free(sq);
                return -1;
            }
        }
        if (f->search_analyzer && !f->analyzer) {
            es_err_set(err, ES_MAPPER_PARSING, "analyzer on field [%s] must be set when search_analyzer is set",
                       f->name);
            err_wrap(err, ES_MAPPER_PARSING, "Failed to parse mapping: %s", err->reason);
            free(sq);
            return -1;
        }
        if (sq && (!f->search_analyzer || !f->analyzer)) {
            es_err_set(err, ES_MAPPER_PARSING,
                       "analyzer and search_analyzer on field [%s] must be set when search_quote_analyzer is set",
                       f->name);
            err_wrap(err, ES_MAPPER_PARSING, "Failed to parse mapping: %s", err->reason);
            free(sq);
            return -1;
        }
        free(sq);
    } else if (f->type == FT_KEYWORD) {
        char *norm = param_string(f, "normalizer");
        if (norm && !analysis_normalizer(a, norm)) {
            es_err_set(err, ES_MAPPER_PARSING, "normalizer [%s] not found for field [%s]", norm, f->name);
            err_wrap(err, ES_MAPPER_PARSING, "Failed to parse mapping: normalizer [%s] not found for field [%s]", norm,
                     f->name);
            free(norm);
            return -1;
        }
        free(norm);
    }
    for (size_t i = 0; i < f->n_props; i++)
        if (check_field(a, f->props[i], err)) return -1;
    for (size_t i = 0; i < f->n_fields; i++)
        if (check_field(a, f->fields[i], err)) return -1;
    return 0;
}

int analysis_check_mapping(const analysis *a, const mapping *m, es_err *err)
{
    if (!a) a = analysis_default();
    const mfield *root = m ? mapping_root(m) : NULL;
    return root ? check_field(a, root, err) : 0;
}

/* ------------------------------------------------------------------------ */
/* Ad hoc analyzers (_analyze) */

static void free_ctx(void *p)
{
    an_ctx *c = p;
    arena *mem = c->mem;
    an_ctx_release(c);
    free(mem);
    free(c);
}

static char *def_text(const json_val *def)
{
    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, false);
    jw_val(&w, def);
    return buf_detach(&b, NULL);
}

/* One component by name or definition. kind: "tokenizer", "filter", "char_filter". */
static void *adhoc_component(const analysis *a, an_ctx *c, const char *kind, const analysis_component *comp,
                             es_err *err)
{
    if (comp->def) {
        an_params p;
        params_from_json(c->mem, comp->def, &p);
        const char *type = an_param_str(&p, "type");
        if (!type) {
            char *t = def_text(comp->def);
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Missing [type] setting for anonymous %s: %s", kind, t);
            free(t);
            return NULL;
        }
        char *name = xasprintf("__anonymous__%s", type);
        void *obj = NULL;
        if (!strcmp(kind, "tokenizer")) obj = an_tokenizer_type_known(type) ? an_tokenizer_new(c, type, name, &p, err) : NULL;
        else if (!strcmp(kind, "filter")) obj = an_filter_type_known(type) ? an_filter_new(c, type, name, &p, err) : NULL;
        else obj = an_charfilter_type_known(type) ? an_charfilter_new(c, type, name, &p, err) : NULL;
        free(name);
        if (!obj && !es_err_isset(err)) es_err_set(err, ES_ILLEGAL_ARGUMENT, "failed to find global %s under [%s]", kind, type);
        return obj;
    }
    const char *n = comp->name ? comp->name : "";
    void *obj = !strcmp(kind, "tokenizer") ? (void *)find_tokenizer(a, n)
                : !strcmp(kind, "filter")  ? (void *)find_filter(a, n)
                                           : (void *)find_charfilter(a, n);
    if (!obj) {
        if (a) es_err_set(err, ES_ILLEGAL_ARGUMENT, "failed to find %s under [%s]", kind, n);
        else es_err_set(err, ES_ILLEGAL_ARGUMENT, "failed to find global %s under [%s]", kind, n);
    }
    return obj;
}

analyzer *analyzer_build_adhoc(const analysis *a, const analysis_component *tokenizer,
                               const analysis_component *char_filters, size_t n_char_filters,
                               const analysis_component *filters, size_t n_filters, es_err *err)
{
    if (a == builtins) a = NULL;
    an_ctx *c = xcalloc(1, sizeof *c);
    c->mem = xcalloc(1, sizeof *c->mem);
    c->index = a ? a->settings : NULL;
    analyzer *an = analyzer_alloc(c, "__custom__", true, 100);
    an->own = c;
    bool normalizer = tokenizer == NULL;
    if (normalizer) {
        an->tok = reg_get(&analysis_default()->tokenizers, "keyword");
    } else {
        an->tok = adhoc_component(a, c, "tokenizer", tokenizer, err);
        if (!an->tok) goto fail;
    }
    an->cf = arena_alloc(c->mem, (n_char_filters ? n_char_filters : 1) * sizeof *an->cf);
    for (size_t i = 0; i < n_char_filters; i++) {
        const an_charfilter *cf = adhoc_component(a, c, "char_filter", &char_filters[i], err);
        if (!cf) goto fail;
        an->cf[an->ncf++] = cf;
    }
    an->f = arena_alloc(c->mem, (n_filters ? n_filters : 1) * sizeof *an->f);
    for (size_t i = 0; i < n_filters; i++) {
        const an_filter *f = adhoc_component(a, c, "filter", &filters[i], err);
        if (!f) goto fail;
        if (normalizer && !f->normalizing) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Custom normalizer may not use filter [%s]", f->name);
            goto fail;
        }
        an->f[an->nf++] = f;
    }
    return an;
fail:
    free_ctx(c);
    return NULL;
}

void analyzer_free(analyzer *an)
{
    if (an && an->own) free_ctx(an->own);
}

/* ------------------------------------------------------------------------ */
/* Running */

const char *analyzer_name(const analyzer *an) { return an->name; }
int analyzer_position_increment_gap(const analyzer *an) { return an->gap; }
bool analyzer_is_custom(const analyzer *an) { return an->custom; }
size_t analyzer_char_filter_count(const analyzer *an) { return an->ncf; }
const char *analyzer_char_filter_name(const analyzer *an, size_t i) { return i < an->ncf ? an->cf[i]->name : NULL; }
const char *analyzer_tokenizer_name(const analyzer *an) { return an->tok->name; }
size_t analyzer_filter_count(const analyzer *an) { return an->nf; }
const char *analyzer_filter_name(const analyzer *an, size_t i) { return i < an->nf ? an->f[i]->name : NULL; }

bool analyzer_has_keyword_attr(const analyzer *an, size_t n_filters)
{
    for (size_t i = 0; i < an->nf && i < n_filters; i++)
        if (an->f[i]->keyword_attr) return true;
    return false;
}

char *analyzer_char_filter_text(const analyzer *an, size_t n, const char *text, size_t len, size_t *out_len)
{
    arena mem = { 0 };
    const char *t = text;
    size_t tl = len;
    for (size_t i = 0; i < n && i < an->ncf; i++) {
        an_offmap m = { 0 };
        char *o;
        an_charfilter_run(an->cf[i], t, tl, &mem, &o, &tl, &m);
        free(m.off);
        free(m.diff);
        t = o;
    }
    char *r = xstrndup(t, tl);
    arena_free(&mem);
    if (out_len) *out_len = tl;
    return r;
}

/* Byte offset -> UTF-16 offset, moving in both directions. */
typedef struct u16walk {
    const char *s;
    size_t b;
    uint32_t u;
} u16walk;

static uint32_t walk_to(u16walk *w, size_t b)
{
    if (b >= w->b) w->u += an_utf16_len(w->s + w->b, b - w->b);
    else w->u -= an_utf16_len(w->s + b, w->b - b);
    w->b = b;
    return w->u;
}

int analyzer_run_partial(const analyzer *an, size_t n_filters, const char *text, size_t len, uint32_t position_base,
                         token_list *out, es_err *err)
{
    if (len && u8_check((const uint8_t *)text, len))
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "text to analyze is not valid UTF-8");
    /* char filters */
    const char *ft = text;
    size_t fl = len;
    an_offmap maps[an->ncf ? an->ncf : 1];
    memset(maps, 0, sizeof maps);
    for (size_t i = 0; i < an->ncf; i++) {
        char *o;
        an_charfilter_run(an->cf[i], ft, fl, &out->mem, &o, &fl, &maps[i]);
        ft = o;
    }
    /* tokenizer */
    atoks a = { .mem = &out->mem }, b = { .mem = &out->mem };
    an_tokenize(an->tok, ft, fl, &a);
    /* ASCII text: UTF-16 offsets are the byte offsets */
    bool ascii = true;
    {
        size_t i = 0;
        for (; i + 8 <= fl && ascii; i += 8) {
            uint64_t w;
            memcpy(&w, ft + i, 8);
            if (w & 0x8080808080808080ull) ascii = false;
        }
        for (; i < fl && ascii; i++)
            if ((unsigned char)ft[i] >= 0x80) ascii = false;
    }
    u16walk ws = { ft, 0, 0 }, we = { ft, 0, 0 };
    for (size_t i = 0; i < a.n; i++) {
        uint32_t s = ascii ? a.t[i].start : walk_to(&ws, a.t[i].start);
        uint32_t e = ascii ? a.t[i].end : walk_to(&we, a.t[i].end);
        for (size_t k = an->ncf; k-- > 0;) {
            s = an_offmap_correct(&maps[k], s);
            e = an_offmap_correct(&maps[k], e);
        }
        a.t[i].start = s;
        a.t[i].end = e;
    }
    uint32_t final = ascii ? (uint32_t)fl : an_utf16_len(ft, fl);
    for (size_t k = an->ncf; k-- > 0;) final = an_offmap_correct(&maps[k], final);
    for (size_t i = 0; i < an->ncf; i++) {
        free(maps[i].off);
        free(maps[i].diff);
    }
    /* filters */
    for (size_t i = 0; i < an->nf && i < n_filters; i++) {
        b.n = 0;
        b.end_inc = 0;
        an_filter_run(an->f[i], &a, &b);
        atoks t = a;
        a = b;
        b = t;
    }
    /* into the list */
    if (out->n + a.n > out->cap) {
        out->cap = out->n + a.n + 8;
        out->t = xrealloc(out->t, out->cap * sizeof *out->t);
    }
    int64_t pos = (int64_t)position_base - 1;
    for (size_t i = 0; i < a.n; i++) {
        atok *t = &a.t[i];
        pos += t->pos_inc;
        int64_t p = pos < (int64_t)position_base ? position_base : pos;
        out->t[out->n++] = (token){ .term = t->term, .len = t->len, .position = (uint32_t)p,
                                    .start_offset = t->start, .end_offset = t->end, .type = t->type,
                                    .position_length = t->pos_len ? t->pos_len : 1, .keyword = t->keyword };
    }
    pos += a.end_inc;
    out->end_position = (uint32_t)(pos + 1 < (int64_t)position_base ? position_base : pos + 1);
    out->end_offset = final;
    free(a.t);
    free(b.t);
    return 0;
}

int analyzer_run(const analyzer *an, const char *text, size_t len, uint32_t position_base, token_list *out, es_err *err)
{
    return analyzer_run_partial(an, SIZE_MAX, text, len, position_base, out, err);
}

void token_list_free(token_list *l)
{
    if (!l) return;
    free(l->t);
    arena_free(&l->mem);
    memset(l, 0, sizeof *l);
}
