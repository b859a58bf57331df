/*
 * roles.c — privileges, the built-in roles, and config/roles.yml.
 *
 * A privilege is a named set of action-name patterns (Elasticsearch's names:
 * "cluster:monitor/health", "indices:data/write/index"), with exclusions. A
 * role grants cluster privileges, and index privileges on index-name patterns.
 * Roles and index groups may also name action patterns directly
 * ("cluster:monitor/...", "indices:data/read/..."), as ES allows.
 *
 * The privilege tables are listed from the least to the most privileged, the
 * order in which ES names "the privileges that grant" an action in its 403s.
 */
#include "security/security_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define ROLES_FILE_MAX (16u * 1024 * 1024)

typedef struct priv_def {
    const char *name;
    const char *const *include;
    const char *const *exclude;
} priv_def;

#define P(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NONE_ ((const char *const[]){ NULL })

#define MAPPING_PUT "indices:admin/mapping/put"
#define MAPPING_AUTO "indices:admin/mapping/auto_put"

static const priv_def index_privs[] = {
    { "none", NONE_, NONE_ },
    { "create_doc", P("indices:data/write/index", "indices:data/write/index[*",
                      "indices:data/write/index:op_type/create", "indices:data/write/bulk*", MAPPING_PUT,
                      MAPPING_AUTO), NONE_ },
    { "create", P("indices:data/write/index*", "indices:data/write/bulk*", MAPPING_PUT, MAPPING_AUTO), NONE_ },
    { "delete", P("indices:data/write/delete*", "indices:data/write/bulk*"), NONE_ },
    { "index", P("indices:data/write/index*", "indices:data/write/bulk*", "indices:data/write/update*",
                 MAPPING_PUT, MAPPING_AUTO), NONE_ },
    { "auto_configure", P("indices:admin/auto_create", MAPPING_AUTO, "indices:admin/data_stream/auto_create"),
      NONE_ },
    { "create_index", P("indices:admin/create", "indices:admin/auto_create", "indices:admin/data_stream/create"),
      NONE_ },
    { "delete_index", P("indices:admin/delete", "indices:admin/data_stream/delete"), NONE_ },
    { "maintenance", P("indices:admin/refresh*", "indices:admin/flush*", "indices:admin/synced_flush",
                       "indices:admin/forcemerge*"), NONE_ },
    { "monitor", P("indices:monitor/*"), NONE_ },
    { "read", P("indices:data/read/*", "indices:admin/resolve/index"), NONE_ },
    { "view_index_metadata", P("indices:admin/aliases/get", "indices:admin/get", "indices:admin/mappings/get",
                               "indices:admin/mappings/fields/get*", "indices:admin/shards/search_shards",
                               "indices:admin/validate/query*", "indices:monitor/settings/get",
                               "indices:admin/resolve/index", "indices:data/read/field_caps*",
                               "indices:admin/data_stream/get"), NONE_ },
    { "write", P("indices:data/write/*", MAPPING_AUTO), NONE_ },
    { "manage", P("indices:monitor/*", "indices:admin/*", "indices:data/read/field_caps*"), NONE_ },
    { "all", P("indices:*"), NONE_ },
};

#define TEMPLATE_ACTIONS "indices:admin/template/*", "indices:admin/index_template/*"

static const priv_def cluster_privs[] = {
    { "none", NONE_, NONE_ },
    { "monitor", P("cluster:monitor/*"), NONE_ },
    { "manage_index_templates", P(TEMPLATE_ACTIONS, "cluster:admin/component_template/*"), NONE_ },
    { "manage_security", P("cluster:admin/xpack/security/*"), NONE_ },
    { "manage", P("cluster:*", TEMPLATE_ACTIONS), P("cluster:admin/xpack/security/*", "cluster:admin/ferry/*") },
    { "all", P("cluster:*", TEMPLATE_ACTIONS), NONE_ },
};

static bool matches_any(const char *const *pats, const char *action)
{
    for (size_t i = 0; pats[i]; i++)
        if (sec_glob(pats[i], action)) return true;
    return false;
}

static bool priv_grants(const priv_def *p, const char *action)
{
    return matches_any(p->include, action) && !matches_any(p->exclude, action);
}

static const priv_def *find_priv(const priv_def *tbl, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(tbl[i].name, name) == 0) return &tbl[i];
    return NULL;
}

bool sec_cluster_privilege_known(const char *name)
{
    if (find_priv(cluster_privs, ARRAY_LEN(cluster_privs), name)) return true;
    return str_has_prefix(name, "cluster:") || str_has_prefix(name, "indices:admin/template/") ||
           str_has_prefix(name, "indices:admin/index_template/");
}

bool sec_index_privilege_known(const char *name)
{
    if (find_priv(index_privs, ARRAY_LEN(index_privs), name)) return true;
    return str_has_prefix(name, "indices:");
}

bool sec_is_cluster_action(const char *action)
{
    return str_has_prefix(action, "cluster:") || str_has_prefix(action, "indices:admin/template/") ||
           str_has_prefix(action, "indices:admin/index_template/");
}

/* A privilege name (or action pattern) of a role grants the action. */
static bool name_grants(const priv_def *tbl, size_t n, const char *name, const char *action)
{
    const priv_def *p = find_priv(tbl, n, name);
    if (p) return priv_grants(p, action);
    return strchr(name, ':') && sec_glob(name, action);
}

const char *sec_granting_privileges(const char *action, char *out, size_t outlen)
{
    bool cluster = sec_is_cluster_action(action);
    const priv_def *tbl = cluster ? cluster_privs : index_privs;
    size_t n = cluster ? ARRAY_LEN(cluster_privs) : ARRAY_LEN(index_privs);
    size_t len = 0;
    out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (!priv_grants(&tbl[i], action)) continue;
        int w = snprintf(out + len, outlen - len, "%s%s", len ? "," : "", tbl[i].name);
        if (w < 0 || (size_t)w >= outlen - len) break;
        len += (size_t)w;
    }
    return out;
}

/* ------------------------------------------------------------------------ */
/* Role checks */

bool sec_role_cluster(const sec_role *r, const char *action)
{
    for (size_t i = 0; i < r->n_cluster; i++)
        if (name_grants(cluster_privs, ARRAY_LEN(cluster_privs), r->cluster[i], action)) return true;
    return false;
}

static bool group_grants(const sec_index_group *g, const char *action)
{
    for (size_t i = 0; i < g->n_privileges; i++)
        if (name_grants(index_privs, ARRAY_LEN(index_privs), g->privileges[i], action)) return true;
    return false;
}

bool sec_role_index(const sec_role *r, const char *action, const char *index, bool need_all)
{
    for (size_t i = 0; i < r->n_indices; i++) {
        const sec_index_group *g = &r->indices[i];
        if (!group_grants(g, action)) continue;
        for (size_t j = 0; j < g->n_names; j++) {
            if (need_all ? strcmp(g->names[j], "*") == 0 : sec_glob(g->names[j], index)) return true;
        }
    }
    return false;
}

bool sec_role_any_index(const sec_role *r, const char *action)
{
    for (size_t i = 0; i < r->n_indices; i++)
        if (r->indices[i].n_names && group_grants(&r->indices[i], action)) return true;
    return false;
}

/* ------------------------------------------------------------------------ */
/* Built-in roles */

#define STRS(...) ((char *[]){ __VA_ARGS__ })
#define GROUP(names, privs) \
    { STRS names, ARRAY_LEN(STRS names), STRS privs, ARRAY_LEN(STRS privs) }

static sec_index_group superuser_groups[] = { GROUP(("*"), ("all")) };
static sec_index_group viewer_groups[] = { GROUP(("*"), ("read", "view_index_metadata")) };
static sec_index_group editor_groups[] = { GROUP(("*"), ("read", "view_index_metadata", "write")) };
static sec_index_group reindex_groups[] = {
    GROUP(("*"), ("read", "view_index_metadata", "write", "create_index")),
};

static const sec_role builtin_roles[] = {
    { "superuser", STRS("all"), 1, superuser_groups, ARRAY_LEN(superuser_groups) },
    { "viewer", STRS("monitor"), 1, viewer_groups, ARRAY_LEN(viewer_groups) },
    { "editor", STRS("monitor"), 1, editor_groups, ARRAY_LEN(editor_groups) },
    { "ferry_reindex", STRS("monitor", "cluster:admin/tasks/cancel", "cluster:admin/reindex/rethrottle"), 3,
      reindex_groups, ARRAY_LEN(reindex_groups) },
};

static const char *const builtin_names[] = { "superuser", "viewer", "editor", "ferry_reindex", NULL };

const sec_role *sec_builtin_role(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(builtin_roles); i++)
        if (strcmp(builtin_roles[i].name, name) == 0) return &builtin_roles[i];
    return NULL;
}

bool sec_is_builtin_role(const char *name)
{
    return sec_builtin_role(name) != NULL;
}

const char *const *sec_builtin_role_names(void)
{
    return builtin_names;
}

/* ------------------------------------------------------------------------ */
/* roles.yml */

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

void sec_role_free(sec_role *r)
{
    free(r->name);
    strv_free(r->cluster, r->n_cluster);
    for (size_t i = 0; i < r->n_indices; i++) {
        strv_free(r->indices[i].names, r->indices[i].n_names);
        strv_free(r->indices[i].privileges, r->indices[i].n_privileges);
    }
    free(r->indices);
    memset(r, 0, sizeof *r);
}

void sec_roles_free(sec_roles *r)
{
    for (size_t i = 0; i < r->n; i++) sec_role_free(&r->v[i]);
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

const char *sec_role_check(const sec_role *r, char *why, size_t whylen)
{
    for (size_t i = 0; i < r->n_cluster; i++)
        if (!sec_cluster_privilege_known(r->cluster[i])) {
            snprintf(why, whylen,
                     "unknown cluster privilege [%s]. a privilege must be either one of the predefined "
                     "cluster privilege names [all,manage,manage_index_templates,manage_security,monitor,none] "
                     "or a pattern over one of the available cluster actions",
                     r->cluster[i]);
            return why;
        }
    for (size_t i = 0; i < r->n_indices; i++) {
        if (!r->indices[i].n_names) {
            snprintf(why, whylen, "an index group needs [names]");
            return why;
        }
        if (!r->indices[i].n_privileges) {
            snprintf(why, whylen, "an index group needs [privileges]");
            return why;
        }
        for (size_t j = 0; j < r->indices[i].n_privileges; j++)
            if (!sec_index_privilege_known(r->indices[i].privileges[j])) {
                snprintf(why, whylen,
                         "unknown index privilege [%s]. a privilege must be either one of the predefined "
                         "fixed indices privileges [all,auto_configure,create,create_doc,create_index,delete,"
                         "delete_index,index,maintenance,manage,monitor,none,read,view_index_metadata,write] "
                         "or a pattern over one of the available index actions",
                         r->indices[i].privileges[j]);
                return why;
            }
    }
    return NULL;
}

typedef struct yctx {
    yaml_document_t *doc;
    const char *what;
    const char *role;
    char why[512];
} yctx;

static const char *scalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A scalar or a sequence of scalars into a string list. */
static bool str_list(yctx *y, yaml_node_t *n, const char *key, char ***out, size_t *nout)
{
    if (n->type == YAML_SCALAR_NODE) {
        *out = xrealloc(*out, (*nout + 1) * sizeof **out);
        (*out)[(*nout)++] = xstrdup(scalar(n));
        return true;
    }
    if (n->type != YAML_SEQUENCE_NODE) {
        snprintf(y->why, sizeof y->why, "[%s] must be a string or a list of strings", key);
        return false;
    }
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        const char *s = scalar(yaml_document_get_node(y->doc, *it));
        if (!s) {
            snprintf(y->why, sizeof y->why, "[%s] must be a list of strings", key);
            return false;
        }
        *out = xrealloc(*out, (*nout + 1) * sizeof **out);
        (*out)[(*nout)++] = xstrdup(s);
    }
    return true;
}

static bool parse_group(yctx *y, yaml_node_t *n, sec_role *r)
{
    if (n->type != YAML_MAPPING_NODE) {
        snprintf(y->why, sizeof y->why, "each entry of [indices] must be an object");
        return false;
    }
    r->indices = xrealloc(r->indices, (r->n_indices + 1) * sizeof *r->indices);
    sec_index_group *g = &r->indices[r->n_indices++];
    memset(g, 0, sizeof *g);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(y->doc, p->key));
        yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
        if (!k) {
            snprintf(y->why, sizeof y->why, "index group keys must be strings");
            return false;
        }
        if (strcmp(k, "names") == 0) {
            if (!str_list(y, v, k, &g->names, &g->n_names)) return false;
        } else if (strcmp(k, "privileges") == 0) {
            if (!str_list(y, v, k, &g->privileges, &g->n_privileges)) return false;
        } else if (strcmp(k, "allow_restricted_indices") == 0) {
            /* No restricted (system) indices in ferry: nothing to allow. */
        } else if (strcmp(k, "field_security") == 0 || strcmp(k, "query") == 0) {
            /* Field and document level security cannot be enforced: refusing the role is
             * the safe answer (granting the whole index would widen access). */
            snprintf(y->why, sizeof y->why,
                     "[indices.%s] (field or document level security) is not supported by ferry", k);
            return false;
        } else {
            snprintf(y->why, sizeof y->why, "unexpected field [%s] in an index group", k);
            return false;
        }
    }
    return true;
}

static bool parse_role(yctx *y, yaml_node_t *n, sec_role *r)
{
    if (n->type != YAML_MAPPING_NODE) {
        snprintf(y->why, sizeof y->why, "a role must be an object");
        return false;
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(y->doc, p->key));
        yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
        if (!k) {
            snprintf(y->why, sizeof y->why, "role keys must be strings");
            return false;
        }
        if (strcmp(k, "cluster") == 0) {
            if (!str_list(y, v, k, &r->cluster, &r->n_cluster)) return false;
        } else if (strcmp(k, "indices") == 0) {
            if (v->type != YAML_SEQUENCE_NODE) {
                snprintf(y->why, sizeof y->why, "[indices] must be a list");
                return false;
            }
            for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++)
                if (!parse_group(y, yaml_document_get_node(y->doc, *it), r)) return false;
        } else if (strcmp(k, "run_as") == 0) {
            char **ra = NULL;
            size_t nra = 0;
            bool ok = str_list(y, v, k, &ra, &nra);
            if (ok && nra)
                log_warn("security", "role [%s] in [%s]: [run_as] is not supported by ferry and is ignored",
                         y->role, y->what);
            strv_free(ra, nra);
            if (!ok) return false;
        } else if (strcmp(k, "metadata") == 0 || strcmp(k, "transient_metadata") == 0 ||
                   strcmp(k, "description") == 0 || strcmp(k, "applications") == 0 ||
                   strcmp(k, "global") == 0) {
            /* Kept by ES for other features (Kibana, metadata); no effect on the REST API here. */
        } else {
            snprintf(y->why, sizeof y->why, "unexpected field [%s]", k);
            return false;
        }
    }
    return true;
}

int sec_roles_parse(const char *text, size_t len, const char *what, sec_roles *out, char **err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        *err = xasprintf("cannot read [%s]: out of memory", what);
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        *err = xasprintf("cannot read roles file [%s]: %s at line %zu", what,
                         parser.problem ? parser.problem : "malformed YAML", parser.problem_mark.line + 1);
        yaml_parser_delete(&parser);
        return -1;
    }
    yaml_parser_delete(&parser);
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) goto done; /* empty file */
    if (root->type != YAML_MAPPING_NODE) {
        *err = xasprintf("roles file [%s] must hold a map of role names", what);
        rc = -1;
        goto done;
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        const char *name = scalar(yaml_document_get_node(&doc, p->key));
        yaml_node_t *v = yaml_document_get_node(&doc, p->value);
        if (!name) continue;
        yctx y = { &doc, what, name, { 0 } };
        if (security_validate_name(name, true)) {
            log_error("security", "invalid role name [%s] in [%s]; skipping it", name, what);
            continue;
        }
        if (sec_is_builtin_role(name)) {
            log_warn("security", "role [%s] in [%s] has the name of a built-in role; the built-in one is kept",
                     name, what);
            continue;
        }
        sec_role r = { 0 };
        r.name = xstrdup(name);
        bool ok = parse_role(&y, v, &r);
        if (ok && sec_role_check(&r, y.why, sizeof y.why)) ok = false;
        if (!ok) {
            log_error("security", "failed to parse role [%s] from [%s]; skipping it: %s", name, what, y.why);
            sec_role_free(&r);
            continue;
        }
        /* A later definition of the same name replaces an earlier one. */
        bool replaced = false;
        for (size_t i = 0; i < out->n && !replaced; i++)
            if (strcmp(out->v[i].name, name) == 0) {
                sec_role_free(&out->v[i]);
                out->v[i] = r;
                replaced = true;
            }
        if (!replaced) {
            out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
            out->v[out->n++] = r;
        }
    }
done:
    yaml_document_delete(&doc);
    return rc;
}

int sec_roles_read(const char *path, sec_roles *out, char **err)
{
    char *data;
    size_t len;
    int rc = sec_read_file(path, ROLES_FILE_MAX, &data, &len, err);
    if (rc < 0) return -1;
    if (rc == 1) return 0;
    rc = sec_roles_parse(data, len, path, out, err);
    free(data);
    return rc;
}
