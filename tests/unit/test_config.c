/* Unit tests for src/config: elasticsearch.yml reading, -E overrides, ${VAR}
 * substitution, validation messages, getters and defaults. Each test writes
 * its file into a fresh mkdtemp folder under /tmp and removes it after. */
#include "config/config.h"
#include "unit.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static bool no_spaces(const char *value, char *why, size_t whylen)
{
    if (!strchr(value, ' ')) return true;
    snprintf(why, whylen, "must not contain spaces");
    return false;
}

static const setting_def test_defs[] = {
    { .name = "http.port", .type = SETTING_INT, .def = "9200", .min = 0, .max = 65535 },
    { .name = "http.host", .type = SETTING_STRING },
    { .name = "http.max_content_length", .type = SETTING_BYTES, .def = "100mb" },
    { .name = "xpack.security.enabled", .type = SETTING_BOOL, .def = "true" },
    { .name = "xpack.security.http.ssl.verification_mode", .type = SETTING_ENUM, .def = "full",
      .choices = "full|certificate|none" },
    { .name = "discovery.seed_hosts", .type = SETTING_LIST, .def = "127.0.0.1, [::1]" },
    { .name = "cluster.initial_master_nodes", .type = SETTING_LIST },
    { .name = "path.data", .type = SETTING_STRING, .def = "data" },
    { .name = "path.logs", .type = SETTING_STRING },
    { .name = "node.name", .type = SETTING_STRING, .validate = no_spaces },
    { .name = "cluster.name", .type = SETTING_STRING, .def = "elasticsearch" },
    { .name = "search.default_search_timeout", .type = SETTING_TIME, .def = "-1" },
    { .name = "transport.ping_schedule", .type = SETTING_TIME, .def = "5s" },
    { .name = "test.counter", .type = SETTING_INT, .def = "-5" },
    { .name = "thread_pool.*", .type = SETTING_INT, .def = "0", .min = 0, .max = 1000 },
    { .name = "node.attr.*", .type = SETTING_STRING },
};

/* ------------------------------------------------------------------------ */
/* Fixture: a temp config folder, optionally with an elasticsearch.yml. */

typedef struct fx {
    char dir[64];
    char *file;
    config *c;
    char *err;
} fx;

static void fx_load(fx *f, const char *yml, const char *const *ov, size_t n_ov)
{
    memset(f, 0, sizeof *f);
    strcpy(f->dir, "/tmp/ferry-config-test-XXXXXX");
    if (!mkdtemp(f->dir)) {
        perror("mkdtemp");
        abort();
    }
    f->file = xasprintf("%s/elasticsearch.yml", f->dir);
    if (yml) {
        FILE *fp = fopen(f->file, "w");
        if (!fp) abort();
        fputs(yml, fp);
        fclose(fp);
    }
    f->c = config_load(f->dir, ov, n_ov, &f->err);
}

static void fx_done(fx *f)
{
    config_free(f->c);
    free(f->err);
    struct stat st;
    if (stat(f->file, &st) == 0) {
        if (S_ISDIR(st.st_mode)) rmdir(f->file);
        else unlink(f->file);
    }
    free(f->file);
    rmdir(f->dir);
}

/* Loads yml expecting failure and checks the whole message; {file} in want
 * stands for the file's path. */
static char *expand_file(const char *want, const char *file)
{
    buf b = { 0 };
    for (const char *p = want; *p;) {
        if (str_has_prefix(p, "{file}")) {
            buf_puts(&b, file);
            p += 6;
        } else {
            buf_putc(&b, *p++);
        }
    }
    return buf_detach(&b, NULL);
}

/* Loads yml with the overrides expecting failure and compares the whole
 * message ({file} in want stands for the file's path). */
static void check_load_err(int line, const char *yml, const char *const *ov, size_t n_ov, const char *want)
{
    fx f;
    fx_load(&f, yml, ov, n_ov);
    char *w = expand_file(want, f.file);
    if (f.c != NULL || !f.err || strcmp(f.err, w) != 0) {
        printf("  %s:%d: [%s] load error\n    got:  %s\n    want: %s\n", __FILE__, line, unit_cur_name,
               f.c ? "(loaded fine)" : f.err ? f.err : "(null)", w);
        unit_cur_failed = 1;
    }
    free(w);
    fx_done(&f);
}

#define CHECK_LOAD_ERR(yml, ...) check_load_err(__LINE__, yml, __VA_ARGS__)
#define NO_OV ((const char *const *)NULL), 0

/* ------------------------------------------------------------------------ */
/* Reading the file */

TEST(flat_keys)
{
    fx f;
    fx_load(&f, "http.port: 9300\nnode.name: node-1\ncluster.name: 'my cluster'\n", NO_OV);
    CHECK(f.c != NULL);
    CHECK(f.err == NULL);
    CHECK_EQ_INT(config_int(f.c, "http.port"), 9300);
    CHECK_EQ_STR(config_str(f.c, "node.name"), "node-1");
    CHECK_EQ_STR(config_str(f.c, "cluster.name"), "my cluster");
    CHECK(config_is_set(f.c, "http.port"));
    CHECK(!config_is_set(f.c, "http.host"));
    CHECK_EQ_STR(config_dir(f.c), f.dir);
    fx_done(&f);
}

TEST(nested_maps)
{
    fx f;
    fx_load(&f, "http:\n  port: 9300\n  host: \"0.0.0.0\"\nnode:\n  attr:\n    rack: r1\n", NO_OV);
    CHECK(f.c != NULL);
    CHECK_EQ_INT(config_int(f.c, "http.port"), 9300);
    CHECK_EQ_STR(config_str(f.c, "http.host"), "0.0.0.0");
    CHECK_EQ_STR(config_str(f.c, "node.attr.rack"), "r1");
    fx_done(&f);
}

TEST(mixed_flat_and_nested)
{
    fx f;
    fx_load(&f,
            "xpack.security:\n"
            "  enabled: false\n"
            "  http.ssl:\n"
            "    verification_mode: certificate\n"
            "http: {port: 9301, host: localhost}\n",
            NO_OV);
    CHECK(f.c != NULL);
    CHECK(!config_bool(f.c, "xpack.security.enabled"));
    CHECK(config_is_set(f.c, "xpack.security.enabled"));
    CHECK_EQ_STR(config_str(f.c, "xpack.security.http.ssl.verification_mode"), "certificate");
    CHECK_EQ_INT(config_int(f.c, "http.port"), 9301);
    CHECK_EQ_STR(config_str(f.c, "http.host"), "localhost");
    fx_done(&f);
}

TEST(block_and_flow_lists)
{
    fx f;
    fx_load(&f,
            "discovery.seed_hosts:\n"
            "  - host1\n"
            "  - \"host2:9300\"\n"
            "  - 10.0.0.3\n"
            "cluster:\n"
            "  initial_master_nodes: [\"a\", 'b', c]\n",
            NO_OV);
    CHECK(f.c != NULL);
    size_t n = 99;
    const char *const *l = config_list(f.c, "discovery.seed_hosts", &n);
    CHECK_EQ_INT(n, 3);
    if (n == 3) {
        CHECK_EQ_STR(l[0], "host1");
        CHECK_EQ_STR(l[1], "host2:9300");
        CHECK_EQ_STR(l[2], "10.0.0.3");
    }
    l = config_list(f.c, "cluster.initial_master_nodes", &n);
    CHECK_EQ_INT(n, 3);
    if (n == 3) {
        CHECK_EQ_STR(l[0], "a");
        CHECK_EQ_STR(l[1], "b");
        CHECK_EQ_STR(l[2], "c");
    }
    CHECK_EQ_STR(config_str(f.c, "cluster.initial_master_nodes"), "a,b,c");
    fx_done(&f);
}

TEST(list_from_string_and_empty_list)
{
    fx f;
    fx_load(&f, "discovery.seed_hosts: \" a , b,,c \"\ncluster.initial_master_nodes: []\n", NO_OV);
    CHECK(f.c != NULL);
    size_t n = 99;
    const char *const *l = config_list(f.c, "discovery.seed_hosts", &n);
    CHECK_EQ_INT(n, 3);
    if (n == 3) {
        CHECK_EQ_STR(l[0], "a");
        CHECK_EQ_STR(l[1], "b");
        CHECK_EQ_STR(l[2], "c");
    }
    l = config_list(f.c, "cluster.initial_master_nodes", &n);
    CHECK_EQ_INT(n, 0);
    CHECK(l != NULL && l[0] == NULL);
    CHECK(config_is_set(f.c, "cluster.initial_master_nodes"));
    fx_done(&f);
}

TEST(scalar_forms)
{
    fx f;
    fx_load(&f,
            "http.port: '9300'\n"
            "node.name: \"n\\u00e9-1\"\n"
            "cluster.name: >-\n"
            "  folded\n"
            "  name\n"
            "path.logs: !!str logs # trailing comment\n"
            "xpack.security.enabled: \"false\"\n",
            NO_OV);
    CHECK(f.c != NULL);
    CHECK_EQ_INT(config_int(f.c, "http.port"), 9300);
    CHECK_EQ_STR(config_str(f.c, "node.name"), "n\xc3\xa9-1");
    CHECK_EQ_STR(config_str(f.c, "cluster.name"), "folded name");
    CHECK_EQ_STR(config_str(f.c, "path.logs"), "logs");
    CHECK(!config_bool(f.c, "xpack.security.enabled"));
    fx_done(&f);
}

TEST(comments_empty_and_missing_files)
{
    const char *files[] = { "", "# only a comment\n\n   # another\n", "---\n", "---\n...\n" };
    for (size_t i = 0; i < ARRAY_LEN(files); i++) {
        fx f;
        fx_load(&f, files[i], NO_OV);
        CHECK(f.c != NULL);
        CHECK(f.err == NULL);
        CHECK_EQ_INT(config_count(f.c), 0);
        fx_done(&f);
    }
    fx f;
    fx_load(&f, NULL, NO_OV); /* no elasticsearch.yml at all */
    CHECK(f.c != NULL);
    CHECK_EQ_INT(config_count(f.c), 0);
    CHECK_EQ_INT(config_int(f.c, "http.port"), 9200);
    fx_done(&f);

    fx_load(&f, "# settings\nhttp.port: 9300 # the port\n# end\n", NO_OV);
    CHECK(f.c != NULL);
    CHECK_EQ_INT(config_int(f.c, "http.port"), 9300);
    CHECK_EQ_INT(config_count(f.c), 1);
    fx_done(&f);
}

TEST(defaults)
{
    fx f;
    fx_load(&f, NULL, NO_OV);
    CHECK(f.c != NULL);
    CHECK_EQ_INT(config_int(f.c, "http.port"), 9200);
    CHECK_EQ_INT(config_int(f.c, "test.counter"), -5);
    CHECK_EQ_INT(config_bytes(f.c, "http.max_content_length"), 100LL << 20);
    CHECK(config_bool(f.c, "xpack.security.enabled"));
    CHECK_EQ_INT(config_time_ms(f.c, "search.default_search_timeout"), -1);
    CHECK_EQ_INT(config_time_ms(f.c, "transport.ping_schedule"), 5000);
    CHECK_EQ_STR(config_str(f.c, "xpack.security.http.ssl.verification_mode"), "full");
    CHECK_EQ_STR(config_str(f.c, "cluster.name"), "elasticsearch");
    CHECK(config_str(f.c, "path.logs") == NULL);
    CHECK(!config_is_set(f.c, "http.port"));
    size_t n = 99;
    const char *const *l = config_list(f.c, "discovery.seed_hosts", &n);
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        CHECK_EQ_STR(l[0], "127.0.0.1");
        CHECK_EQ_STR(l[1], "[::1]");
    }
    l = config_list(f.c, "cluster.initial_master_nodes", &n); /* no default */
    CHECK_EQ_INT(n, 0);
    CHECK(l != NULL);
    fx_done(&f);
}

TEST(typed_getters_parse_values)
{
    fx f;
    fx_load(&f,
            "http.max_content_length: 1.5KB\n"
            "transport.ping_schedule: 2M\n"
            "search.default_search_timeout: ' 500ms '\n"
            "test.counter: 9000000000\n",
            NO_OV);
    CHECK(f.c != NULL);
    CHECK_EQ_INT(config_bytes(f.c, "http.max_content_length"), 1536);
    CHECK_EQ_INT(config_time_ms(f.c, "transport.ping_schedule"), 120000);
    CHECK_EQ_INT(config_time_ms(f.c, "search.default_search_timeout"), 500);
    CHECK_EQ_INT(config_int(f.c, "test.counter"), 9000000000LL);
    fx_done(&f);

    const char *ov[] = { "http.max_content_length=1gb", "transport.ping_schedule=0",
                         "search.default_search_timeout=3d" };
    fx_load(&f, NULL, ov, 3);
    CHECK(f.c != NULL);
    CHECK_EQ_INT(config_bytes(f.c, "http.max_content_length"), 1LL << 30);
    CHECK_EQ_INT(config_time_ms(f.c, "transport.ping_schedule"), 0);
    CHECK_EQ_INT(config_time_ms(f.c, "search.default_search_timeout"), 3LL * 86400000);
    fx_done(&f);
}

TEST(count_and_keys_sorted)
{
    const char *ov[] = { "cluster.name=c1", "http.port=9400" };
    fx f;
    fx_load(&f, "path.data: /d\nnode:\n  name: n1\nhttp.port: 9300\n", ov, 2);
    CHECK(f.c != NULL);
    CHECK_EQ_INT(config_count(f.c), 4);
    CHECK_EQ_STR(config_key_at(f.c, 0), "cluster.name");
    CHECK_EQ_STR(config_key_at(f.c, 1), "http.port");
    CHECK_EQ_STR(config_key_at(f.c, 2), "node.name");
    CHECK_EQ_STR(config_key_at(f.c, 3), "path.data");
    CHECK(config_key_at(f.c, 4) == NULL);
    fx_done(&f);
}

/* ------------------------------------------------------------------------ */
/* ${VAR} substitution */

TEST(env_substitution)
{
    setenv("FERRY_TEST_HOME", "/srv/ferry", 1);
    setenv("FERRY_TEST_PORT", "9333", 1);
    setenv("FERRY_TEST_HOST_B", "b.example", 1);
    fx f;
    fx_load(&f,
            "path.data: ${FERRY_TEST_HOME}/data\n"
            "http.port: ${FERRY_TEST_PORT}\n"
            "discovery.seed_hosts: [a.example, \"${FERRY_TEST_HOST_B}\"]\n"
            "node.name: ${FERRY_TEST_UNSET_WITH_DEFAULT:node-x}\n"
            "path.logs: ${path.data}/logs\n"
            "cluster.name: unterminated ${FERRY_TEST_HOME\n",
            NO_OV);
    CHECK(f.c != NULL);
    CHECK_EQ_STR(config_str(f.c, "path.data"), "/srv/ferry/data");
    CHECK_EQ_INT(config_int(f.c, "http.port"), 9333);
    size_t n = 0;
    const char *const *l = config_list(f.c, "discovery.seed_hosts", &n);
    CHECK_EQ_INT(n, 2);
    if (n == 2) CHECK_EQ_STR(l[1], "b.example");
    CHECK_EQ_STR(config_str(f.c, "node.name"), "node-x");
    CHECK_EQ_STR(config_str(f.c, "path.logs"), "/srv/ferry/data/logs");
    CHECK_EQ_STR(config_str(f.c, "cluster.name"), "unterminated ${FERRY_TEST_HOME");
    fx_done(&f);

    /* -E values are substituted too */
    const char *ov[] = { "path.data=${FERRY_TEST_HOME}/e" };
    fx_load(&f, NULL, ov, 1);
    CHECK(f.c != NULL);
    CHECK_EQ_STR(config_str(f.c, "path.data"), "/srv/ferry/e");
    fx_done(&f);
    unsetenv("FERRY_TEST_HOME");
    unsetenv("FERRY_TEST_PORT");
    unsetenv("FERRY_TEST_HOST_B");
}

TEST(env_substitution_errors)
{
    unsetenv("FERRY_TEST_UNDEFINED");
    CHECK_LOAD_ERR("path.data: ${FERRY_TEST_UNDEFINED}/x\n", NO_OV,
                   "Could not resolve placeholder 'FERRY_TEST_UNDEFINED' (setting [path.data], value "
                   "[${FERRY_TEST_UNDEFINED}/x], in [{file}])");
    const char *ov[] = { "node.name=${FERRY_TEST_UNDEFINED}" };
    CHECK_LOAD_ERR(NULL, ov, 1,
                   "Could not resolve placeholder 'FERRY_TEST_UNDEFINED' (setting [node.name], value "
                   "[${FERRY_TEST_UNDEFINED}], in -E command line argument)");
    CHECK_LOAD_ERR("path.data: ${path.logs}\npath.logs: ${path.data}\n", NO_OV,
                   "Circular placeholder reference 'path.logs' in property definitions (setting [path.data], "
                   "value [${path.logs}], in [{file}])");
}

/* ------------------------------------------------------------------------ */
/* -E overrides */

TEST(overrides_win_over_the_file)
{
    const char *ov[] = { "http.port=9400", "discovery.seed_hosts=h1, h2 ,h3", "node.attr.zone=z=1" };
    fx f;
    fx_load(&f, "http.port: 9300\ndiscovery.seed_hosts: [x, y]\nnode.name: n1\n", ov, 3);
    CHECK(f.c != NULL);
    CHECK_EQ_INT(config_int(f.c, "http.port"), 9400);
    CHECK_EQ_STR(config_str(f.c, "node.name"), "n1");
    CHECK_EQ_STR(config_str(f.c, "node.attr.zone"), "z=1");
    size_t n = 0;
    const char *const *l = config_list(f.c, "discovery.seed_hosts", &n);
    CHECK_EQ_INT(n, 3);
    if (n == 3) {
        CHECK_EQ_STR(l[0], "h1");
        CHECK_EQ_STR(l[1], "h2");
        CHECK_EQ_STR(l[2], "h3");
    }
    fx_done(&f);
}

TEST(malformed_overrides)
{
    const char *no_eq[] = { "http.port" };
    CHECK_LOAD_ERR(NULL, no_eq, 1, "value must be of form key=value, found [http.port] (in -E command line argument)");
    const char *no_key[] = { "=9200" };
    CHECK_LOAD_ERR(NULL, no_key, 1, "value must be of form key=value, found [=9200] (in -E command line argument)");
    const char *empty[] = { "node.name=" };
    CHECK_LOAD_ERR(NULL, empty, 1, "setting [node.name] must not be empty (in -E command line argument)");
    const char *twice[] = { "http.port=1", "node.name=a", "http.port=2" };
    CHECK_LOAD_ERR(NULL, twice, 3, "setting [http.port] already set, saw [1] and [2] (in -E command line argument)");
    const char *bad[] = { "http.port=abc" };
    CHECK_LOAD_ERR("http.port: 9300\n", bad, 1,
                   "Failed to parse value [abc] for setting [http.port] (in -E command line argument)");
    const char *unknown[] = { "foo.bar=1" };
    CHECK_LOAD_ERR(NULL, unknown, 1,
                   "unknown setting [foo.bar] please check that any required plugins are installed, or check the "
                   "breaking changes documentation for removed settings (value [1], in -E command line argument)");
}

/* ------------------------------------------------------------------------ */
/* Shapes Elasticsearch rejects while reading the file */

TEST(duplicate_keys)
{
    CHECK_LOAD_ERR("http.port: 9200\nhttp:\n  port: 9300\n", NO_OV,
                   "Failed to load settings from [{file}]: duplicate settings key [http.port] found at line "
                   "number [3], column number [9], previous value [9200], current value [9300]");
    CHECK_LOAD_ERR("node.name: bar\nnode.name: baz", NO_OV,
                   "Failed to load settings from [{file}]: duplicate settings key [node.name] found at line "
                   "number [2], column number [12], previous value [bar], current value [baz]");
    CHECK_LOAD_ERR("discovery:\n  seed_hosts: [a, b]\ndiscovery.seed_hosts: c\n", NO_OV,
                   "Failed to load settings from [{file}]: duplicate settings key [discovery.seed_hosts] found at "
                   "line number [3], column number [23], previous value [[a, b]], current value [c]");
}

TEST(unsupported_shapes)
{
    CHECK_LOAD_ERR("discovery.seed_hosts:\n  - host: a\n", NO_OV,
                   "Failed to load settings from [{file}]: only value lists are allowed in serialized settings, "
                   "but the list for [discovery.seed_hosts] holds a map at line number [2], column number [5]");
    CHECK_LOAD_ERR("discovery.seed_hosts: [a, [b, c]]\n", NO_OV,
                   "Failed to load settings from [{file}]: only value lists are allowed in serialized settings, "
                   "but the list for [discovery.seed_hosts] holds a list at line number [1], column number [27]");
    CHECK_LOAD_ERR("http:\n  port:\n", NO_OV,
                   "Failed to load settings from [{file}]: null-valued setting found for key [http.port] found "
                   "at line number [2], column number [8]");
    CHECK_LOAD_ERR("node.name: ~\n", NO_OV,
                   "Failed to load settings from [{file}]: null-valued setting found for key [node.name] found "
                   "at line number [1], column number [12]");
    CHECK_LOAD_ERR("- a\n- b\n", NO_OV,
                   "Failed to load settings from [{file}]: malformed, expected settings to start with a map of "
                   "keys, found a list at line number [1], column number [1]");
    CHECK_LOAD_ERR("http.port: 1\n---\nnode.name: x\n", NO_OV,
                   "Failed to load settings from [{file}]: malformed, expected end of settings but encountered "
                   "additional content starting at line number [2], column number [1]");
    CHECK_LOAD_ERR("node.name: &n x\npath.data: *n\n", NO_OV,
                   "Failed to load settings from [{file}]: unsupported value for key [path.data]: YAML aliases "
                   "are not supported at line number [2], column number [12]");
    CHECK_LOAD_ERR("node.name: \"a\\0b\"\n", NO_OV,
                   "Failed to load settings from [{file}]: the value for key [node.name] contains a NUL character "
                   "at line number [1], column number [12]");
    CHECK_LOAD_ERR("\"http.port\\0x\": 1\n", NO_OV,
                   "Failed to load settings from [{file}]: a key contains a NUL character at line number [1], "
                   "column number [1]");
    CHECK_LOAD_ERR("http:\n  [a, b]: 1\n", NO_OV,
                   "Failed to load settings from [{file}]: settings keys must be plain names, found a list as a "
                   "key under http at line number [2], column number [3]");
}

TEST(invalid_yaml)
{
    CHECK_LOAD_ERR("http:\n  port: 9200\n bad\n", NO_OV,
                   "Failed to load settings from [{file}]: malformed YAML, did not find expected key at line "
                   "number [3], column number [2] (while parsing a block mapping at line number [1], column "
                   "number [1])");
    CHECK_LOAD_ERR("http.port: [9200\n", NO_OV,
                   "Failed to load settings from [{file}]: malformed YAML, did not find expected ',' or ']' at "
                   "line number [2], column number [1] (while parsing a flow sequence at line number [1], column "
                   "number [12])");
    CHECK_LOAD_ERR("node.name: a\xff\n", NO_OV,
                   "Failed to load settings from [{file}]: malformed YAML, invalid leading UTF-8 octet at byte "
                   "offset [12]");
}

TEST(config_path_is_a_directory)
{
    fx f;
    memset(&f, 0, sizeof f);
    strcpy(f.dir, "/tmp/ferry-config-test-XXXXXX");
    CHECK(mkdtemp(f.dir) != NULL);
    f.file = xasprintf("%s/elasticsearch.yml", f.dir);
    CHECK(mkdir(f.file, 0700) == 0);
    f.c = config_load(f.dir, NULL, 0, &f.err);
    CHECK(f.c == NULL);
    char *want = xasprintf("Failed to load settings from [%s]: it is a directory", f.file);
    CHECK_EQ_STR(f.err, want);
    free(want);
    fx_done(&f);
}

/* ------------------------------------------------------------------------ */
/* Validation against the registry */

TEST(unknown_settings)
{
    CHECK_LOAD_ERR("foo.bar: 1\n", NO_OV,
                   "unknown setting [foo.bar] please check that any required plugins are installed, or check the "
                   "breaking changes documentation for removed settings (value [1], in [{file}])");
    CHECK_LOAD_ERR("http:\n  prot: 1\n", NO_OV,
                   "unknown setting [http.prot] did you mean [http.port]? (value [1], in [{file}])");
    CHECK_LOAD_ERR("thread_pool: 5\n", NO_OV,
                   "unknown setting [thread_pool] please check that any required plugins are installed, or check "
                   "the breaking changes documentation for removed settings (value [5], in [{file}])");
    CHECK_LOAD_ERR("foo: [a, b]\n", NO_OV,
                   "unknown setting [foo] please check that any required plugins are installed, or check the "
                   "breaking changes documentation for removed settings (value [[a, b]], in [{file}])");
}

TEST(bool_values)
{
    const char *bad[] = { "yes", "on", "True", "1" };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        char *yml = xasprintf("xpack.security.enabled: %s\n", bad[i]);
        char *want = xasprintf("Failed to parse value [%s] as only [true] or [false] are allowed. (setting "
                               "[xpack.security.enabled], in [{file}])",
                               bad[i]);
        CHECK_LOAD_ERR(yml, NO_OV, want);
        free(yml);
        free(want);
    }
    fx f;
    fx_load(&f, "xpack.security.enabled: true\n", NO_OV);
    CHECK(f.c && config_bool(f.c, "xpack.security.enabled"));
    fx_done(&f);
}

TEST(int_values_and_bounds)
{
    CHECK_LOAD_ERR("http.port: abc\n", NO_OV, "Failed to parse value [abc] for setting [http.port] (in [{file}])");
    CHECK_LOAD_ERR("http.port: 92.5\n", NO_OV, "Failed to parse value [92.5] for setting [http.port] (in [{file}])");
    CHECK_LOAD_ERR("http.port: 70000\n", NO_OV,
                   "Failed to parse value [70000] for setting [http.port] must be <= 65535 (in [{file}])");
    CHECK_LOAD_ERR("http.port: -1\n", NO_OV,
                   "Failed to parse value [-1] for setting [http.port] must be >= 0 (in [{file}])");
    CHECK_LOAD_ERR("test.counter: 99999999999999999999\n", NO_OV,
                   "Failed to parse value [99999999999999999999] for setting [test.counter] (in [{file}])");
    fx f;
    fx_load(&f, "http.port: 65535\ntest.counter: -123456789012\n", NO_OV);
    CHECK(f.c != NULL);
    CHECK_EQ_INT(config_int(f.c, "http.port"), 65535);
    CHECK_EQ_INT(config_int(f.c, "test.counter"), -123456789012LL);
    fx_done(&f);
}

TEST(byte_size_values)
{
    CHECK_LOAD_ERR("http.max_content_length: abc\n", NO_OV,
                   "failed to parse setting [http.max_content_length] with value [abc] as a size in bytes: unit "
                   "is missing or unrecognized (in [{file}])");
    CHECK_LOAD_ERR("http.max_content_length: 100\n", NO_OV,
                   "failed to parse setting [http.max_content_length] with value [100] as a size in bytes: unit "
                   "is missing or unrecognized (in [{file}])");
    CHECK_LOAD_ERR("http.max_content_length: xmb\n", NO_OV,
                   "failed to parse setting [http.max_content_length] with value [xmb] (in [{file}])");
    CHECK_LOAD_ERR("http.max_content_length: -5mb\n", NO_OV,
                   "failed to parse setting [http.max_content_length] with value [-5mb] as a size in bytes (in "
                   "[{file}])");
    CHECK_LOAD_ERR("http.max_content_length: 99999999pb\n", NO_OV,
                   "failed to parse setting [http.max_content_length] with value [99999999pb] as a size in bytes "
                   "(in [{file}])");
}

TEST(time_values)
{
    CHECK_LOAD_ERR("transport.ping_schedule: abc\n", NO_OV,
                   "failed to parse setting [transport.ping_schedule] with value [abc] as a time value: unit is "
                   "missing or unrecognized (in [{file}])");
    CHECK_LOAD_ERR("transport.ping_schedule: 30\n", NO_OV,
                   "failed to parse setting [transport.ping_schedule] with value [30] as a time value: unit is "
                   "missing or unrecognized (in [{file}])");
    CHECK_LOAD_ERR("transport.ping_schedule: 1.5s\n", NO_OV,
                   "failed to parse [1.5s], fractional time values are not supported (setting "
                   "[transport.ping_schedule], in [{file}])");
    CHECK_LOAD_ERR("transport.ping_schedule: -5s\n", NO_OV,
                   "failed to parse setting [transport.ping_schedule] with value [-5s] as a time value: negative "
                   "durations are not supported (in [{file}])");
    CHECK_LOAD_ERR("transport.ping_schedule: xs\n", NO_OV,
                   "failed to parse [xs] (setting [transport.ping_schedule], in [{file}])");
}

TEST(enum_values)
{
    CHECK_LOAD_ERR("xpack.security.http.ssl.verification_mode: strict\n", NO_OV,
                   "Failed to parse value [strict] for setting [xpack.security.http.ssl.verification_mode] must "
                   "be one of [full, certificate, none] (in [{file}])");
    fx f;
    fx_load(&f, "xpack.security.http.ssl.verification_mode: NONE\n", NO_OV);
    CHECK(f.c != NULL);
    CHECK_EQ_STR(config_str(f.c, "xpack.security.http.ssl.verification_mode"), "none");
    fx_done(&f);
}

TEST(custom_validator_and_list_for_scalar)
{
    CHECK_LOAD_ERR("node.name: a b\n", NO_OV,
                   "illegal value [a b] for setting [node.name]: must not contain spaces (in [{file}])");
    CHECK_LOAD_ERR("http.port: [9200, 9300]\n", NO_OV,
                   "Found list type value for setting [http.port] but did not expect a list for it. (value "
                   "[[9200, 9300]], in [{file}])");
}

TEST(first_error_in_key_order)
{
    /* Like Elasticsearch, keys are validated in sorted order: http.port before xpack... */
    CHECK_LOAD_ERR("xpack.security.enabled: yes\nhttp.port: abc\n", NO_OV,
                   "Failed to parse value [abc] for setting [http.port] (in [{file}])");
}

TEST(group_settings)
{
    fx f;
    fx_load(&f, "thread_pool:\n  search:\n    size: 8\n  write.queue_size: 200\nnode.attr.rack: r1\n", NO_OV);
    CHECK(f.c != NULL);
    CHECK_EQ_INT(config_int(f.c, "thread_pool.search.size"), 8);
    CHECK_EQ_INT(config_int(f.c, "thread_pool.write.queue_size"), 200);
    CHECK_EQ_INT(config_int(f.c, "thread_pool.get.size"), 0); /* the group's default */
    CHECK_EQ_STR(config_str(f.c, "node.attr.rack"), "r1");
    const setting_def *d = config_find_def("thread_pool.search.size");
    CHECK(d != NULL && strcmp(d->name, "thread_pool.*") == 0);
    CHECK(config_find_def("thread_pool") == NULL);
    CHECK(config_find_def("thread_pools.x") == NULL);
    d = config_find_def("http.port");
    CHECK(d != NULL && d->type == SETTING_INT);
    fx_done(&f);
    CHECK_LOAD_ERR("thread_pool.search.size: 5000\n", NO_OV,
                   "Failed to parse value [5000] for setting [thread_pool.search.size] must be <= 1000 (in "
                   "[{file}])");
}

TEST(resolve_path)
{
    fx f;
    fx_load(&f, NULL, NO_OV);
    CHECK(f.c != NULL);
    char *p = config_resolve_path(f.c, "certs/http.p12");
    char *want = xasprintf("%s/certs/http.p12", f.dir);
    CHECK_EQ_STR(p, want);
    free(p);
    free(want);
    p = config_resolve_path(f.c, "/etc/ssl/ca.pem");
    CHECK_EQ_STR(p, "/etc/ssl/ca.pem");
    free(p);
    CHECK(config_resolve_path(f.c, NULL) == NULL);
    fx_done(&f);

    config *c = config_load("/tmp/ferry-config-test-nonexistent/", NULL, 0, NULL);
    CHECK(c != NULL);
    p = config_resolve_path(c, "a.pem");
    CHECK_EQ_STR(p, "/tmp/ferry-config-test-nonexistent/a.pem");
    free(p);
    config_free(c);
}

TEST(unregistered_names_do_not_crash)
{
    fx f;
    fx_load(&f, "http.port: 9300\n", NO_OV);
    CHECK(f.c != NULL);
    CHECK(config_str(f.c, "no.such.setting") == NULL);
    CHECK(config_str(f.c, "no.such.setting") == NULL); /* warned once only */
    CHECK_EQ_INT(config_int(f.c, "no.such.setting"), 0);
    CHECK(!config_bool(f.c, "no.such.setting"));
    CHECK_EQ_INT(config_bytes(f.c, "no.such.setting"), 0);
    CHECK_EQ_INT(config_time_ms(f.c, "no.such.setting"), 0);
    size_t n = 99;
    CHECK(config_list(f.c, "no.such.setting", &n) != NULL);
    CHECK_EQ_INT(n, 0);
    CHECK(!config_is_set(f.c, "no.such.setting"));
    CHECK(config_str(f.c, NULL) == NULL);
    fx_done(&f);
    /* and a NULL config reads defaults */
    CHECK_EQ_INT(config_int(NULL, "http.port"), 9200);
    CHECK_EQ_INT(config_count(NULL), 0);
    config_free(NULL);
}

int main(void)
{
    log_set_level(LOG_ERROR); /* the unregistered-name warnings are expected */
    config_register(test_defs, ARRAY_LEN(test_defs));
    RUN(flat_keys);
    RUN(nested_maps);
    RUN(mixed_flat_and_nested);
    RUN(block_and_flow_lists);
    RUN(list_from_string_and_empty_list);
    RUN(scalar_forms);
    RUN(comments_empty_and_missing_files);
    RUN(defaults);
    RUN(typed_getters_parse_values);
    RUN(count_and_keys_sorted);
    RUN(env_substitution);
    RUN(env_substitution_errors);
    RUN(overrides_win_over_the_file);
    RUN(malformed_overrides);
    RUN(duplicate_keys);
    RUN(unsupported_shapes);
    RUN(invalid_yaml);
    RUN(config_path_is_a_directory);
    RUN(unknown_settings);
    RUN(bool_values);
    RUN(int_values_and_bounds);
    RUN(byte_size_values);
    RUN(time_values);
    RUN(enum_values);
    RUN(custom_validator_and_list_for_scalar);
    RUN(first_error_in_key_order);
    RUN(group_settings);
    RUN(resolve_path);
    RUN(unregistered_names_do_not_crash);
    return unit_report();
}
