/* GET /api/audit: the audit log, newest first, for superadmins.
 *
 *   ?limit=N (1-500, default 100) &before=ID (cursor: the next_before of the previous page)
 *   &action=NAME &actor=EMAIL (exact filters)
 *
 * The answer is {"entries": [...], "next_before": ID or null}. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "audit_log.h"
#include "auth.h"
#include "csvin.h"
#include "db.h"

/* 1 when query has a parameter called name, whatever its value. */
static int param_present(const char *query, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = query; p && *p;) {
        if (strncmp(p, name, nl) == 0 && (p[nl] == '=' || p[nl] == '&' || !p[nl]))
            return 1;
        p = strchr(p, '&');
        if (p)
            p++;
    }
    return 0;
}

/* A positive integer parameter; 0 when absent, -1 when malformed. */
static long long int_param(const char *query, const char *name, long long max)
{
    char *v = http_query_param(query, name);
    if (!v)
        return param_present(query, name) ? -1 : 0;
    /* Digits only: no sign, spaces, hex or exponents. */
    int bad = !*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 18;
    char *end;
    errno = 0;
    long long n = bad ? 0 : strtoll(v, &end, 10);
    bad = bad || errno || n < 1 || n > max;
    free(v);
    return bad ? -1 : n;
}

void api_audit_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    long long limit = int_param(req->query, "limit", 500);
    long long before = int_param(req->query, "before", 999999999999999999LL);
    if (limit < 0) {
        http_fail_range(req, 400, "invalid_parameter", "limit", "field.int_range",
                        "limit must be 1 to 500", 1, 500);
        return;
    }
    if (before < 0) {
        http_error(req, 400, "invalid_parameter", "before must be an entry id", "before");
        return;
    }
    if (limit == 0)
        limit = 100;
    char *action = http_query_param(req->query, "action");
    char *actor = http_query_param(req->query, "actor");
    if ((!action && param_present(req->query, "action")) ||
        (!actor && param_present(req->query, "actor")) ||
        (action && !csvin_utf8_valid(action, strlen(action))) ||
        (actor && !csvin_utf8_valid(actor, strlen(actor)))) {
        free(action);
        free(actor);
        http_error(req, 400, "invalid_parameter", "action and actor must be text", NULL);
        return;
    }
    struct audit_log_query q = {.before = before, .action = action, .actor = actor, .limit = limit};
    json_object *o;
    int rc = audit_log_page_json(req->app->db, &q, &o);
    free(action);
    free(actor);
    if (rc != DB_OK) {
        http_error(req, 503, "database_unavailable", "try again", NULL);
        return;
    }
    http_json(req, 200, o);
}
