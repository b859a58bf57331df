/*
 * main.c — `ferry VERB ...`: dispatches to the command for the verb.
 */
#include "cli/cli.h"
#include "core/core.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *verb;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    { "serve", cmd_serve, "run a node (settings from $FERRY_PATH_CONF/elasticsearch.yml and -E key=value)" },
    { "cert", cmd_cert, "certificate tooling: fetch a server's chain, create a CA or node certificates" },
    { "bundle", cmd_bundle, "create or install a CA bundle (zip holding a folder)" },
    { "users", cmd_users, "manage file realm users and roles (as elasticsearch-users)" },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: ferry <command> [args]\n\ncommands:\n");
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        fprintf(out, "  %-8s %s\n", commands[i].verb, commands[i].help);
    fprintf(out, "\n`ferry <command> --help` describes each command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("ferry %s\n", FERRY_VERSION);
        return 0;
    }
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        if (!strcmp(argv[1], commands[i].verb)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ferry: unknown command [%s]\n\n", argv[1]);
    usage(stderr);
    return 2;
}
