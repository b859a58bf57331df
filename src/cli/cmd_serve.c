/*
 * cmd_serve.c — `ferry serve`: load the settings, install CA bundles,
 * auto-configure security on a first start, open the node's state and its
 * security, start HTTP(S), register the REST API, and run until
 * SIGTERM/SIGINT.
 */
#include "cli/cli.h"
#include "bundle/bundle.h"
#include "config/config.h"
#include "core/core.h"
#include "http/http.h"
#include "indices/indices.h"
#include "reindex/reindex.h"
#include "rest/rest.h"
#include "security/security.h"

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
};

static void serve_usage(FILE *out)
{
    fprintf(out,
            "usage: ferry serve [-E key=value]...\n"
            "  Runs a node. Settings come from $FERRY_PATH_CONF/elasticsearch.yml (default\n"
            "  ./config; ES_PATH_CONF is honoured too), then each -E override.\n"
            "  Security is on by default, as in Elasticsearch 8: the first start generates a CA\n"
            "  and an HTTPS certificate under config/certs/ and the elastic user's password\n"
            "  (ELASTIC_PASSWORD sets it instead). -E xpack.security.enabled=false serves\n"
            "  plain HTTP without authentication.\n");
}

/* What an operator needs once, on the first start: the password and how to connect. */
static void print_first_start(const config *cfg, const char *password, bool autoconfigured,
                              const security_tls *tls, const char *address)
{
    const char *rule = "--------------------------------------------------------------------------------";
    printf("%s\n", rule);
    if (autoconfigured)
        printf("ferry security features have been automatically configured:\n"
               "authentication is enabled and HTTP connections are encrypted.\n\n");
    if (password)
        printf("Password for the elastic user (shown once; stored only as a bcrypt hash):\n  %s\n\n", password);
    char *ca = autoconfigured ? config_resolve_path(cfg, "certs/http_ca.crt") : NULL;
    if (tls->cert_pem)
        printf("HTTP CA certificate SHA-256 fingerprint:\n  %s\n\n", tls->ca_fingerprint);
    printf("Try it:\n  curl %s%s%s-u elastic:%s %s://%s/\n", ca ? "--cacert " : "", ca ? ca : "", ca ? " " : "",
           password ? password : "$ELASTIC_PASSWORD", tls->cert_pem ? "https" : "http", address);
    printf("%s\n", rule);
    fflush(stdout);
    free(ca);
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
    config_register(security_settings, security_settings_count);
    config_register(reindex_settings, reindex_settings_count);
    char *errmsg = NULL;
    const char *conf_path = conf_abs ? conf_abs : conf_dir;
    config *cfg = config_load(conf_path, overrides, n_over, &errmsg);
    if (!cfg) {
        fprintf(stderr, "ferry: %s\n", errmsg ? errmsg : "cannot load settings");
        free(errmsg);
        free(conf_abs);
        free(overrides);
        return 1;
    }

    /* CA bundles first: the TLS settings may name files they carry. */
    int nb = bundle_install_all(config_dir(cfg), &errmsg);
    if (nb < 0) {
        log_error("bundle", "%s", errmsg);
        free(errmsg);
        config_free(cfg);
        free(conf_abs);
        free(overrides);
        return 1;
    }
    if (nb > 0) log_info("bundle", "installed %d bundle(s) from [%s/bundles]", nb, config_dir(cfg));

    /* Elasticsearch 8's first-start security auto-configuration; the settings are then
     * read again, so this start and the next ones see the same file. */
    int autoconf = security_autoconfigure(cfg, &errmsg);
    if (autoconf < 0) {
        log_error("security", "%s", errmsg);
        free(errmsg);
        config_free(cfg);
        free(conf_abs);
        free(overrides);
        return 1;
    }
    if (autoconf > 0) {
        config_free(cfg);
        cfg = config_load(conf_path, overrides, n_over, &errmsg);
        if (!cfg) {
            fprintf(stderr, "ferry: %s\n", errmsg ? errmsg : "cannot load settings");
            free(errmsg);
            free(conf_abs);
            free(overrides);
            return 1;
        }
    }
    free(conf_abs);
    free(overrides);

    /* HTTPS material before anything else opens: a bad certificate is a settings error. */
    security_tls tls;
    if (security_tls_load(cfg, &tls, &errmsg) < 0) {
        log_error("security", "%s", errmsg);
        free(errmsg);
        config_free(cfg);
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
        security_tls_free(&tls);
        config_free(cfg);
        return 1;
    }
    store_node_ids(indices_store(node.ix), node.node_id, node.cluster_uuid);

    char *password = NULL;
    security *sec = security_open(cfg, path_data, &password, &errmsg);
    if (!sec) {
        log_error("security", "%s", errmsg);
        free(errmsg);
        security_tls_free(&tls);
        indices_close(node.ix);
        config_free(cfg);
        return 1;
    }
    if (!security_enabled(sec))
        log_warn("security", "security is disabled (xpack.security.enabled: false): anyone who can reach "
                             "the node may read and change everything");

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
        .tls_cert_pem = tls.cert_pem,
        .tls_key_pem = tls.key_pem,
        .tls_priorities = tls.priorities,
        .tls_trust_pem = tls.trust_pem,
        .tls_client_auth = tls.client_auth,
        .authenticate = security_enabled(sec) ? security_http_hook : NULL,
        .auth_ctx = sec,
    };
    /* Every route goes in before the server listens: the route table is read unguarded. */
    http_server *srv = http_server_new(&hopts);
    rest_register(srv, &node);
    security_register_routes(srv, sec);
    if (security_enabled(sec)) security_check_routes(srv);
    const char *shown_host = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    bool v6_host = strchr(shown_host, ':') && shown_host[0] != '[';
    /* A fixed port is known before listening, so handlers never see the address change;
     * with a port range it is filled in once bound. */
    if (port == port_max && port)
        snprintf(node.http_address, sizeof node.http_address, v6_host ? "[%s]:%d" : "%s:%d", shown_host, port);
    if (http_server_listen(srv, &errmsg)) {
        log_error("http", "%s", errmsg);
        free(errmsg);
        rest_stop(&node);
        http_server_stop(srv);
        if (password) explicit_bzero(password, strlen(password));
        free(password);
        security_close(sec);
        security_tls_free(&tls);
        indices_close(node.ix);
        config_free(cfg);
        return 1;
    }
    if (!(port == port_max && port))
        snprintf(node.http_address, sizeof node.http_address, v6_host ? "[%s]:%d" : "%s:%d", shown_host,
                 http_server_port(srv));
    if (tls.cert_pem)
        log_info("security", "HTTPS on, presenting a chain whose root has SHA-256 fingerprint [%s]%s",
                 tls.ca_fingerprint,
                 tls.client_auth == 2 ? "; client certificates required"
                 : tls.client_auth == 1 ? "; client certificates verified when sent" : "");
    if (autoconf > 0 || password) print_first_start(cfg, password, autoconf > 0, &tls, node.http_address);
    if (password) {
        explicit_bzero(password, strlen(password));
        free(password);
    }

    log_info("http", "publish_address {%s}, bound_addresses {%s}", node.http_address, node.http_address);
    log_info("node", "[%s] started; cluster [%s], node id [%s], version [%s], data [%s]",
             node.node_name, node.cluster_name, node.node_id, node.version, path_data);

    int sig = 0;
    sigwait(&sigs, &sig);
    log_info("node", "[%s] stopping (signal %d)", node.node_name, sig);
    rest_stop(&node);
    http_server_stop(srv);
    security_close(sec);
    security_tls_free(&tls);
    indices_close(node.ix);
    config_free(cfg);
    log_info("node", "stopped");
    return 0;
}
