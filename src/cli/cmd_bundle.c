/*
 * cmd_bundle.c — `ferry bundle create|install`: zip a folder (a source
 * cluster's CA) and unpack such zips into a node's config folder.
 *
 * Exit status: 0 success, 1 failure (message on stderr), 2 usage error.
 */
#include "cli/cli.h"

#include "bundle/bundle.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char BUNDLE_USAGE[] =
    "Usage: ferry bundle COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  create FOLDER [-o NAME.zip]      zip FOLDER (kept by its name: FOLDER/file)\n"
    "  install NAME.zip [--config DIR]  unpack a bundle into the config folder\n"
    "\n"
    "Run `ferry bundle COMMAND --help` for details.\n";

static const char CREATE_USAGE[] =
    "Usage: ferry bundle create FOLDER [-o NAME.zip]\n"
    "\n"
    "Zips FOLDER, entries named by the folder's name (my_source_ca/cacert.pem).\n"
    "Only regular files and subfolders are allowed (no symlinks or devices), at most\n"
    "1000 entries and 100 MiB in all.\n"
    "\n"
    "  -o, --out NAME.zip   the archive to write (default: FOLDER's name + .zip, here);\n"
    "                       an existing file is replaced\n";

static const char INSTALL_USAGE[] =
    "Usage: ferry bundle install NAME.zip [--config DIR]\n"
    "\n"
    "Unpacks a bundle into the config folder, keeping its folder\n"
    "(my_source_ca.zip -> DIR/my_source_ca/cacert.pem). The archive is checked first\n"
    "(paths, entry types, sizes, compression ratio) and nothing is written unless all\n"
    "of it is acceptable. Files get mode 0644, folders 0755; existing files of the same\n"
    "name are replaced atomically.\n"
    "\n"
    "  --config DIR         the config folder (default: $FERRY_PATH_CONF, else ./config)\n"
    "\n"
    "A node also installs every *.zip in its config folder's bundles/ when it starts.\n";

static bool is_help(const char *s)
{
    return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0 || strcmp(s, "help") == 0;
}

static int usage(const char *cmd, const char *msg, const char *arg)
{
    fprintf(stderr, "ferry bundle %s: %s%s%s%s\nRun `ferry bundle %s --help` for usage.\n", cmd,
            msg, arg ? " \"" : "", arg ? arg : "", arg ? "\"" : "", cmd);
    return 2;
}

/* "--name VALUE" or "--name=VALUE"; *missing when the value is absent. */
static bool opt_val(int argc, char **argv, int *i, const char *name, const char **val,
                    bool *missing)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0) return false;
    if (arg[n] == '=') {
        *val = arg + n + 1;
        return true;
    }
    if (arg[n] != 0) return false;
    if (*i + 1 >= argc) {
        *missing = true;
        return true;
    }
    *val = argv[++*i];
    return true;
}

static int bundle_create_cmd(int argc, char **argv)
{
    const char *folder = NULL, *out = NULL, *v = NULL;
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        if (is_help(argv[i])) {
            fputs(CREATE_USAGE, stdout);
            return 0;
        }
        if (opt_val(argc, argv, &i, "-o", &v, &missing) ||
            opt_val(argc, argv, &i, "--out", &v, &missing)) {
            if (missing || !*v) return usage("create", "-o needs a file name", NULL);
            out = v;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage("create", "unknown option", argv[i]);
        } else if (folder) {
            return usage("create", "only one FOLDER may be given; also got", argv[i]);
        } else {
            folder = argv[i];
        }
    }
    if (!folder) return usage("create", "missing FOLDER", NULL);
    char *err = NULL;
    char *name = out ? xstrdup(out) : bundle_default_name(folder, &err);
    if (!name || bundle_create(folder, name, &err) < 0) {
        fprintf(stderr, "ferry bundle create: %s\n", err ? err : "failed");
        free(err);
        free(name);
        return 1;
    }
    printf("created bundle %s from %s\n", name, folder);
    free(name);
    return 0;
}

static int bundle_install_cmd(int argc, char **argv)
{
    const char *zip = NULL, *config = NULL, *v = NULL;
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        if (is_help(argv[i])) {
            fputs(INSTALL_USAGE, stdout);
            return 0;
        }
        if (opt_val(argc, argv, &i, "--config", &v, &missing)) {
            if (missing || !*v) return usage("install", "--config needs a folder", NULL);
            config = v;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage("install", "unknown option", argv[i]);
        } else if (zip) {
            return usage("install", "only one NAME.zip may be given; also got", argv[i]);
        } else {
            zip = argv[i];
        }
    }
    if (!zip) return usage("install", "missing NAME.zip", NULL);
    if (!config) {
        const char *env = getenv("FERRY_PATH_CONF");
        config = env && *env ? env : "./config";
    }
    char *err = NULL;
    if (bundle_install(zip, config, &err) < 0) {
        fprintf(stderr, "ferry bundle install: %s\n", err ? err : "failed");
        free(err);
        return 1;
    }
    printf("installed bundle %s into %s\n", zip, config);
    return 0;
}

int cmd_bundle(int argc, char **argv)
{
    if (argc < 2) {
        fputs(BUNDLE_USAGE, stderr);
        return 2;
    }
    if (is_help(argv[1])) {
        fputs(BUNDLE_USAGE, stdout);
        return 0;
    }
    if (strcmp(argv[1], "create") == 0) return bundle_create_cmd(argc - 1, argv + 1);
    if (strcmp(argv[1], "install") == 0) return bundle_install_cmd(argc - 1, argv + 1);
    fprintf(stderr, "ferry bundle: unknown command \"%s\"\n\n%s", argv[1], BUNDLE_USAGE);
    return 2;
}
