/*
 * security_int.h — shared only by the files of src/security.
 */
#ifndef FERRY_SECURITY_INT_H
#define FERRY_SECURITY_INT_H

#include "security/security.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

/* Reads a whole file (at most max bytes). Returns 0, 1 when the file is missing, -1 on
 * another error (with *err). */
int sec_read_file(const char *path, size_t max, char **data, size_t *len, char **err);
/* Atomic write (temporary + fsync + rename), keeping an existing file's mode, else mode. */
int sec_write_file(const char *path, const char *data, size_t len, mode_t mode, char **err);

/* Glob match of an action or index name against a pattern ('*' matches any run). */
bool sec_glob(const char *pattern, const char *s);

/* Does role r grant cluster action? Index action on index name (exact name or, when
 * need_all, on every index: some group has the pattern "*")? */
bool sec_role_cluster(const sec_role *r, const char *action);
bool sec_role_index(const sec_role *r, const char *action, const char *index, bool need_all);
bool sec_role_any_index(const sec_role *r, const char *action);
/* A role's validation against the known privileges: NULL or the reason. */
const char *sec_role_check(const sec_role *r, char *why, size_t whylen);
void sec_role_free(sec_role *r);

#endif
