/* The route table and the dispatcher. Each route names the least role it needs; the
 * permission tests are generated from this table. */
#include <string.h>

#include "app.h"
#include "db.h"
#include "log.h"

const struct route app_routes[] = {
    {"GET", "/api/health", ROLE_ANONYMOUS, api_health},
    {"GET", "/api/campaigns", ROLE_VIEWER, api_campaigns_list},
    {"POST", "/api/campaigns", ROLE_ADMIN, api_campaigns_create},
    {"GET", "/api/campaigns/{id}", ROLE_VIEWER, api_campaigns_get},
    {"POST", "/api/campaigns/{id}/recipients", ROLE_ADMIN, api_recipients_upload},
    {"POST", "/api/campaigns/{id}/start", ROLE_ADMIN, api_campaigns_start},
    {"GET", "/webhook", ROLE_ANONYMOUS, webhook_verify},
    {"POST", "/webhook", ROLE_ANONYMOUS, webhook_receive},
};
const size_t app_nroutes = sizeof app_routes / sizeof app_routes[0];

/* Until accounts and roles exist (auth_mode "none"), whoever reaches the API acts as the
 * operator; scripts/stack.sh binds it to 127.0.0.1 only. */
static enum role identify(struct request *req)
{
    if (strcmp(req->app->cfg.auth_mode, "none") == 0) {
        req->user = "operator";
        return ROLE_SUPERADMIN;
    }
    return ROLE_ANONYMOUS;
}

int access_check(struct request *req, const struct route *route)
{
    req->role = identify(req);
    if (req->role >= route->min_role)
        return 1;
    if (req->role == ROLE_ANONYMOUS)
        http_error(req, 401, "unauthenticated", "sign in first", NULL);
    else
        http_error(req, 403, "forbidden", "your role does not allow this", NULL);
    return 0;
}

int app_need_db(struct request *req)
{
    if (db_ensure(req->app->db) == DB_OK)
        return 0;
    log_error("database unavailable: %s", db_error(req->app->db));
    http_error(req, 503, "database_unavailable", "the database is not reachable; try again",
               NULL);
    return -1;
}

void app_dispatch(struct request *req)
{
    int path_known = 0;
    char allow[64] = "";
    for (size_t i = 0; i < app_nroutes; i++) {
        const struct route *r = &app_routes[i];
        long long ids[ROUTE_MAX_IDS];
        int nids = 0;
        if (!route_match(r->pattern, req->path, ids, &nids))
            continue;
        if (strcmp(r->method, req->method) != 0) {
            path_known = 1;
            size_t n = strlen(allow);
            snprintf(allow + n, sizeof allow - n, "%s%s", n ? ", " : "", r->method);
            continue;
        }
        memcpy(req->ids, ids, sizeof ids);
        req->nids = nids;
        if (!access_check(req, r))
            return;
        r->handler(req);
        if (!req->status)
            http_error(req, 500, "internal", "the handler gave no answer", NULL);
        return;
    }
    if (path_known) {
        char extra[128];
        snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
        http_begin(req, 405, "application/json; charset=utf-8", extra);
        static const char body[] =
            "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"method not allowed\"}}";
        http_write(req, body, sizeof body - 1);
        return;
    }
    http_error(req, 404, "not_found", "no such endpoint", NULL);
}
