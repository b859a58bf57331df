/*
 * cli — the `ferry` command line: one entry point per verb.
 *
 *   ferry serve [-E key=value]...      run a node (config from $FERRY_PATH_CONF, default ./config)
 *   ferry cert fetch|ca|http ...       certificate tooling
 *   ferry bundle create|install ...    CA bundles
 *   ferry users useradd|userdel|passwd|roles|list ...   file realm users (elasticsearch-users)
 *
 * Each command takes the arguments after its verb (argv[0] is the verb) and
 * returns the process exit status. Depends on every module it drives.
 */
#ifndef FERRY_CLI_H
#define FERRY_CLI_H

int cmd_serve(int argc, char **argv);
int cmd_cert(int argc, char **argv);
int cmd_bundle(int argc, char **argv);
int cmd_users(int argc, char **argv);

#endif
