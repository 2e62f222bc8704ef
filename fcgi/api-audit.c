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

static json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

void api_audit_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    long long limit = int_param(req->query, "limit", 500);
    long long before = int_param(req->query, "before", 999999999999999999LL);
    if (limit < 0) {
        http_error(req, 400, "invalid_parameter", "limit must be 1 to 500", "limit");
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
    struct db_rows rows;
    int rc = db_query(
        req->app->db,
        "SELECT id, " TS("created_at") ", actor, address, action, target_type, "
                                       "target_id, campaign_id, detail FROM audit_log "
                                       "WHERE (? = 0 OR id < ?) AND (? IS NULL OR action = ?) "
                                       "AND (? IS NULL OR actor = ?) ORDER BY id DESC LIMIT ?",
        DB_ARGS(DB_INT(before), DB_INT(before), DB_STR(action), DB_STR(action), DB_STR(actor),
                DB_STR(actor), DB_INT(limit + 1)),
        &rows);
    free(action);
    free(actor);
    if (rc != DB_OK) {
        db_rows_free(&rows);
        http_error(req, 503, "database_unavailable", "try again", NULL);
        return;
    }
    json_object *arr = json_object_new_array();
    size_t n = rows.nrows > (size_t)limit ? (size_t)limit : rows.nrows;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "id", json_object_new_int64(db_int(&rows, i, 0, 0)));
        json_object_object_add(e, "created_at", str_or_null(db_val(&rows, i, 1)));
        json_object_object_add(e, "actor", str_or_null(db_val(&rows, i, 2)));
        json_object_object_add(e, "address", str_or_null(db_val(&rows, i, 3)));
        json_object_object_add(e, "action", str_or_null(db_val(&rows, i, 4)));
        json_object_object_add(e, "target_type", str_or_null(db_val(&rows, i, 5)));
        json_object_object_add(e, "target_id",
                               db_val(&rows, i, 6) ? json_object_new_int64(db_int(&rows, i, 6, 0))
                                                   : NULL);
        json_object_object_add(e, "campaign_id",
                               db_val(&rows, i, 7) ? json_object_new_int64(db_int(&rows, i, 7, 0))
                                                   : NULL);
        const char *d = db_val(&rows, i, 8);
        json_object_object_add(e, "detail", d ? json_tokener_parse(d) : NULL);
        json_object_array_add(arr, e);
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "entries", arr);
    json_object_object_add(o, "next_before",
                           rows.nrows > (size_t)limit && n > 0
                               ? json_object_new_int64(db_int(&rows, n - 1, 0, 0))
                               : NULL);
    db_rows_free(&rows);
    http_json(req, 200, o);
}
