/*
 * cmd_serve.c — `ferry serve`: load the settings, open the node's state,
 * start HTTP, register the REST API, and run until SIGTERM/SIGINT.
 */
#include "cli/cli.h"
#include "config/config.h"
#include "core/core.h"
#include "http/http.h"
#include "indices/indices.h"
#include "rest/rest.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool valid_port_spec(const char *v, char *why, size_t whylen)
{
    /* "9200" or a range "9200-9300" */
    char *end;
    long a = strtol(v, &end, 10), b = a;
    if (end == v) goto bad;
    if (*end == '-') {
        const char *s = end + 1;
        b = strtol(s, &end, 10);
        if (end == s) goto bad;
    }
    if (*end || a < 0 || b > 65535 || b < a) goto bad;
    return true;
bad:
    snprintf(why, whylen, "Failed to parse port range [%s]", v);
    return false;
}

static bool valid_version(const char *v, char *why, size_t whylen)
{
    int a, b, c;
    char tail;
    if (sscanf(v, "%d.%d.%d%c", &a, &b, &c, &tail) == 3) return true;
    snprintf(why, whylen, "[%s] is not a version of the form X.Y.Z", v);
    return false;
}

/* The node-level settings; other modules register their own. */
static const setting_def node_settings[] = {
    { "cluster.name", SETTING_STRING, "elasticsearch", NULL, 0, 0, NULL },
    { "node.name", SETTING_STRING, NULL, NULL, 0, 0, NULL },
    { "path.data", SETTING_STRING, "data", NULL, 0, 0, NULL },
    { "path.logs", SETTING_STRING, "logs", NULL, 0, 0, NULL },
    { "network.host", SETTING_STRING, "127.0.0.1", NULL, 0, 0, NULL },
    { "http.host", SETTING_STRING, NULL, NULL, 0, 0, NULL },
    { "http.port", SETTING_STRING, "9200", NULL, 0, 0, valid_port_spec },
    { "http.max_content_length", SETTING_BYTES, "100mb", NULL, 0, 0, NULL },
    { "http.compression", SETTING_BOOL, "true", NULL, 0, 0, NULL },
    { "ferry.reported_version", SETTING_STRING, "8.17.0", NULL, 0, 0, valid_version },
    /* Security arrives with its own issue; until then a node serves plain HTTP. */
    { "xpack.security.enabled", SETTING_BOOL, "false", NULL, 0, 0, NULL },
};

static void serve_usage(FILE *out)
{
    fprintf(out,
            "usage: ferry serve [-E key=value]...\n"
            "  Runs a node. Settings come from $FERRY_PATH_CONF/elasticsearch.yml (default\n"
            "  ./config; ES_PATH_CONF is honoured too), then each -E override.\n");
}

int cmd_serve(int argc, char **argv)
{
    const char **overrides = xcalloc((size_t)argc, sizeof *overrides);
    size_t n_over = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-E") && i + 1 < argc) {
            overrides[n_over++] = argv[++i];
        } else if (!strncmp(argv[i], "-E", 2) && argv[i][2]) {
            overrides[n_over++] = argv[i] + 2;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            serve_usage(stdout);
            free(overrides);
            return 0;
        } else {
            fprintf(stderr, "ferry serve: unknown argument [%s]\n", argv[i]);
            serve_usage(stderr);
            free(overrides);
            return 2;
        }
    }

    const char *conf_dir = getenv("FERRY_PATH_CONF");
    if (!conf_dir || !*conf_dir) conf_dir = getenv("ES_PATH_CONF");
    if (!conf_dir || !*conf_dir) conf_dir = "config";
    /* As Elasticsearch, the config folder is made absolute, so paths resolved against it are too. */
    char *conf_abs = realpath(conf_dir, NULL);

    config_register(node_settings, ARRAY_LEN(node_settings));
    config_register(indices_settings, indices_settings_count);
    char *errmsg = NULL;
    config *cfg = config_load(conf_abs ? conf_abs : conf_dir, overrides, n_over, &errmsg);
    free(conf_abs);
    free(overrides);
    if (!cfg) {
        fprintf(stderr, "ferry: %s\n", errmsg ? errmsg : "cannot load settings");
        free(errmsg);
        return 1;
    }

    rest_node node = { 0 };
    node.cfg = cfg;
    node.cluster_name = config_str(cfg, "cluster.name");
    char hostname[256] = "ferry";
    gethostname(hostname, sizeof hostname - 1);
    node.node_name = config_is_set(cfg, "node.name") ? config_str(cfg, "node.name") : hostname;
    node.version = config_str(cfg, "ferry.reported_version");
    node.max_content_length = config_bytes(cfg, "http.max_content_length");
    node.start_millis = now_millis();
    const char *path_data = config_str(cfg, "path.data");
    es_err err = { 0 };
    node.ix = indices_open(cfg, &err);
    if (!node.ix) {
        log_error("node", "cannot open the data folder [%s]: %s", path_data, err.reason);
        es_err_free(&err);
        config_free(cfg);
        return 1;
    }
    store_node_ids(indices_store(node.ix), node.node_id, node.cluster_uuid);

    /* Block the signals we wait for before any thread starts, so they reach only sigwait. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    const char *port_spec = config_str(cfg, "http.port");
    int port = atoi(port_spec), port_max = port;
    const char *dash = strchr(port_spec, '-');
    if (dash) port_max = atoi(dash + 1);
    const char *host = config_is_set(cfg, "http.host") ? config_str(cfg, "http.host")
                                                       : config_str(cfg, "network.host");
    http_server_opts hopts = {
        .host = host,
        .port = port,
        .port_max = port_max,
        .max_content_length = node.max_content_length,
        .compression = config_bool(cfg, "http.compression"),
    };
    http_server *srv = http_server_start(&hopts, &errmsg);
    if (!srv) {
        log_error("http", "%s", errmsg);
        free(errmsg);
        indices_close(node.ix);
        config_free(cfg);
        return 1;
    }
    const char *shown_host = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    if (strchr(shown_host, ':') && shown_host[0] != '[')
        snprintf(node.http_address, sizeof node.http_address, "[%s]:%d", shown_host, http_server_port(srv));
    else
        snprintf(node.http_address, sizeof node.http_address, "%s:%d", shown_host, http_server_port(srv));
    rest_register(srv, &node);

    log_info("http", "publish_address {%s}, bound_addresses {%s}", node.http_address, node.http_address);
    log_info("node", "[%s] started; cluster [%s], node id [%s], version [%s], data [%s]",
             node.node_name, node.cluster_name, node.node_id, node.version, path_data);

    int sig = 0;
    sigwait(&sigs, &sig);
    log_info("node", "[%s] stopping (signal %d)", node.node_name, sig);
    http_server_stop(srv);
    indices_close(node.ix);
    config_free(cfg);
    log_info("node", "stopped");
    return 0;
}
