/* The route table and the dispatcher. Each route names the least role it needs; the
 * permission tests are generated from this table. */
#include <stdio.h>
#include <string.h>

#include "apikey.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "log.h"

const struct route app_routes[] = {
    {"GET", "/api/health", ROLE_ANONYMOUS, api_health},
    /* Anonymous, but only for the addresses in metrics_allow (checked by the handler). */
    {"GET", "/metrics", ROLE_ANONYMOUS, api_metrics},
    {"GET", "/api/campaigns", ROLE_VIEWER, api_campaigns_list},
    {"POST", "/api/campaigns", ROLE_ADMIN, api_campaigns_create},
    {"GET", "/api/campaigns/{id}", ROLE_VIEWER, api_campaigns_get},
    {"PATCH", "/api/campaigns/{id}", ROLE_ADMIN, api_campaigns_update},
    {"DELETE", "/api/campaigns/{id}", ROLE_ADMIN, api_campaigns_delete},
    {"POST", "/api/campaigns/{id}/recipients", ROLE_ADMIN, api_recipients_upload},
    {"GET", "/api/campaigns/{id}/recipients", ROLE_VIEWER, api_recipients_list},
    {"DELETE", "/api/campaigns/{id}/recipients", ROLE_ADMIN, api_recipients_clear},
    {"POST", "/api/campaigns/{id}/recipients/contacts", ROLE_ADMIN, api_recipients_from_contacts},
    {"POST", "/api/campaigns/{id}/recipients/list", ROLE_ADMIN, api_recipients_from_list},
    {"POST", "/api/campaigns/{id}/recipients/segment", ROLE_ADMIN, api_recipients_from_segment},
    {"GET", "/api/campaigns/{id}/imports", ROLE_VIEWER, api_recipients_imports},
    {"POST", "/api/campaigns/{id}/uploads", ROLE_ADMIN, api_imports_create},
    {"POST", "/api/campaigns/{id}/uploads/chunk", ROLE_ADMIN, api_imports_chunk},
    {"POST", "/api/campaigns/{id}/uploads/finish", ROLE_ADMIN, api_imports_finish},
    {"POST", "/api/campaigns/{id}/start", ROLE_ADMIN, api_campaigns_start},
    {"POST", "/api/campaigns/{id}/clone", ROLE_ADMIN, api_campaigns_clone},
    {"POST", "/api/campaigns/{id}/preflight", ROLE_ADMIN, api_campaigns_preflight},
    {"POST", "/api/campaigns/{id}/preview", ROLE_VIEWER, api_campaigns_preview},
    {"POST", "/api/campaigns/{id}/test", ROLE_ADMIN, api_campaigns_test},
    {"POST", "/api/campaigns/{id}/pause", ROLE_ADMIN, api_campaigns_pause},
    {"POST", "/api/campaigns/{id}/resume", ROLE_ADMIN, api_campaigns_resume},
    {"POST", "/api/campaigns/{id}/cancel", ROLE_ADMIN, api_campaigns_cancel},
    {"POST", "/api/campaigns/{id}/retry", ROLE_ADMIN, api_campaigns_retry},
    {"GET", "/api/campaigns/{id}/log", ROLE_VIEWER, api_campaigns_log},
    {"GET", "/api/campaigns/{id}/log.csv", ROLE_VIEWER, api_campaigns_log_csv},
    {"GET", "/api/campaigns/{id}/failed.csv", ROLE_VIEWER, api_campaigns_failed_csv},
    {"GET", "/api/campaigns/{id}/stats", ROLE_VIEWER, api_campaigns_stats},
    {"GET", "/api/campaigns/{id}/audit", ROLE_ADMIN, api_campaigns_audit},
    /* cost (issue 21, docs/api.md "Cost") */
    {"GET", "/api/campaigns/{id}/costs", ROLE_VIEWER, api_campaigns_costs},
    {"GET", "/api/campaigns/{id}/variants", ROLE_VIEWER, api_campaign_variants},
    {"GET", "/api/campaigns/{id}/holdout.csv", ROLE_VIEWER, api_campaigns_holdout_csv},
    {"GET", "/api/campaigns/{id}/costs.csv", ROLE_VIEWER, api_campaigns_costs_csv},
    {"GET", "/api/rate-card", ROLE_ADMIN, api_rate_card_list},
    {"POST", "/api/rate-card", ROLE_SUPERADMIN, api_rate_card_create},
    {"DELETE", "/api/rate-card/{id}", ROLE_SUPERADMIN, api_rate_card_delete},
    {"GET", "/api/accounts", ROLE_VIEWER, api_accounts_list},
    {"POST", "/api/accounts", ROLE_SUPERADMIN, api_accounts_create},
    {"GET", "/api/accounts/{id}", ROLE_VIEWER, api_accounts_get},
    {"PATCH", "/api/accounts/{id}", ROLE_SUPERADMIN, api_accounts_update},
    {"DELETE", "/api/accounts/{id}", ROLE_SUPERADMIN, api_accounts_delete},
    {"POST", "/api/templates/sync", ROLE_ADMIN, api_templates_sync},
    {"GET", "/api/templates", ROLE_VIEWER, api_templates_list},
    {"GET", "/api/templates/{id}", ROLE_VIEWER, api_templates_get},
    {"POST", "/api/templates/{id}/preview", ROLE_VIEWER, api_templates_preview},
    {"GET", "/api/contacts", ROLE_VIEWER, api_contacts_list},
    {"POST", "/api/contacts", ROLE_ADMIN, api_contacts_create},
    {"POST", "/api/contacts/import", ROLE_ADMIN, api_contacts_import},
    {"POST", "/api/contacts/uploads", ROLE_ADMIN, api_contacts_uploads_create},
    {"POST", "/api/contacts/uploads/chunk", ROLE_ADMIN, api_contacts_uploads_chunk},
    {"POST", "/api/contacts/uploads/finish", ROLE_ADMIN, api_contacts_uploads_finish},
    {"POST", "/api/contacts/bulk", ROLE_ADMIN, api_contacts_bulk},
    {"PUT", "/api/contacts/by-lead/{*lead_id}", ROLE_ADMIN, api_contacts_by_lead},
    {"GET", "/api/contacts/{id}", ROLE_VIEWER, api_contacts_get},
    {"PATCH", "/api/contacts/{id}", ROLE_ADMIN, api_contacts_update},
    {"DELETE", "/api/contacts/{id}", ROLE_ADMIN, api_contacts_delete},
    {"GET", "/api/tags", ROLE_VIEWER, api_tags_list},
    {"GET", "/api/segments", ROLE_VIEWER, api_segments_list},
    {"POST", "/api/segments", ROLE_ADMIN, api_segments_create},
    {"POST", "/api/segments/count", ROLE_VIEWER, api_segments_count},
    {"GET", "/api/segments/{id}", ROLE_VIEWER, api_segments_get},
    {"PATCH", "/api/segments/{id}", ROLE_ADMIN, api_segments_update},
    {"DELETE", "/api/segments/{id}", ROLE_ADMIN, api_segments_delete},
    {"GET", "/api/opt-outs", ROLE_VIEWER, api_optouts_list},
    {"POST", "/api/opt-outs", ROLE_ADMIN, api_optouts_create},
    {"DELETE", "/api/opt-outs", ROLE_ADMIN, api_optouts_delete},
    {"GET", "/api/optout-keywords", ROLE_VIEWER, api_optout_keywords_list},
    {"POST", "/api/optout-keywords", ROLE_ADMIN, api_optout_keywords_create},
    {"DELETE", "/api/optout-keywords", ROLE_ADMIN, api_optout_keywords_delete},
    {"GET", "/api/audit", ROLE_SUPERADMIN, api_audit_list},
    /* outbound events (docs/api.md, Hooks) */
    {"GET", "/api/hooks", ROLE_SUPERADMIN, api_hooks_list},
    {"POST", "/api/hooks", ROLE_SUPERADMIN, api_hooks_create},
    {"GET", "/api/hooks/{id}", ROLE_SUPERADMIN, api_hooks_get},
    {"PATCH", "/api/hooks/{id}", ROLE_SUPERADMIN, api_hooks_update},
    {"DELETE", "/api/hooks/{id}", ROLE_SUPERADMIN, api_hooks_delete},
    {"GET", "/api/hooks/{id}/deliveries", ROLE_SUPERADMIN, api_hooks_deliveries},
    /* accounts and sessions (docs/security.md) */
    {"POST", "/api/session", ROLE_ANONYMOUS, api_session_login},
    {"DELETE", "/api/session", ROLE_VIEWER, api_session_logout},
    {"GET", "/api/me", ROLE_VIEWER, api_me},
    {"POST", "/api/me/password", ROLE_VIEWER, api_me_password},
    {"GET", "/api/users", ROLE_SUPERADMIN, api_users_list},
    {"POST", "/api/users", ROLE_SUPERADMIN, api_users_create},
    {"GET", "/api/users/{id}", ROLE_SUPERADMIN, api_users_get},
    {"PATCH", "/api/users/{id}", ROLE_SUPERADMIN, api_users_update},
    {"POST", "/api/users/{id}/password", ROLE_SUPERADMIN, api_users_password},
    /* API keys and replies (issue 20) */
    {"GET", "/api/keys", ROLE_ADMIN, api_keys_list},
    {"POST", "/api/keys", ROLE_ADMIN, api_keys_create},
    {"DELETE", "/api/keys/{id}", ROLE_ADMIN, api_keys_delete},
    {"GET", "/api/replies", ROLE_VIEWER, api_replies_list},
    {"GET", "/api/replies.csv", ROLE_VIEWER, api_replies_csv},
    {"GET", "/api/replies/{id}", ROLE_VIEWER, api_replies_get},
    {"PATCH", "/api/replies/{id}", ROLE_ADMIN, api_replies_update},
    {"POST", "/api/replies/{id}/answer", ROLE_ADMIN, api_replies_answer},
    {"GET", "/webhook", ROLE_ANONYMOUS, webhook_verify},
    {"POST", "/webhook", ROLE_ANONYMOUS, webhook_receive},
};
const size_t app_nroutes = sizeof app_routes / sizeof app_routes[0];

/* The role of whoever sends the request: from the session cookie (auth_mode "sessions", the
 * default), or, only when auth_mode "none" is configured explicitly, the operator as
 * superadmin for whoever reaches the API (docs/security.md). -1: the database is away. */
static int identify(struct request *req)
{
    if (strcmp(req->app->cfg.auth_mode, "none") == 0) {
        req->user = "operator";
        return ROLE_SUPERADMIN;
    }
    return auth_identify(req);
}

int access_check(struct request *req, const struct route *route)
{
    int role = identify(req);
    if (role < 0) {
        if (route->min_role > ROLE_ANONYMOUS) {
            http_error(req, 503, "database_unavailable", "the database is not reachable; try again",
                       NULL);
            return 0;
        }
        role = ROLE_ANONYMOUS;
    }
    req->role = (enum role)role;
    /* A refused API key answers the same whatever the reason (unknown, revoked, malformed,
     * its creator disabled); past its rate limit, 429 with the seconds to wait. */
    if (req->api_key_refused && strncmp(req->path, "/api/", 5) == 0) {
        if (req->api_key_refused == APIKEY_LIMITED) {
            char v[16];
            snprintf(v, sizeof v, "%d", req->retry_after);
            http_add_header(req, "Retry-After", v);
            http_error(req, 429, "rate_limited", "too many requests with this API key; wait", NULL);
        } else {
            http_error(req, 401, "invalid_api_key", "the API key is not valid", NULL);
        }
        return 0;
    }
    if (req->role < route->min_role) {
        if (req->role == ROLE_ANONYMOUS)
            http_error(req, 401, "unauthenticated", "sign in first", NULL);
        else
            http_error(req, 403, "forbidden", "your role does not allow this", NULL);
        return 0;
    }
    /* Cross-site requests: a foreign Origin never changes anything under /api/, and a
     * session's state-changing requests carry its CSRF token. */
    if (auth_state_changing(req->method) && strncmp(req->path, "/api/", 5) == 0 &&
        !auth_origin_ok(req)) {
        http_error(req, 403, "origin_mismatch", "the request comes from another site", NULL);
        return 0;
    }
    if (req->session_id && auth_route_needs_csrf(route) && !auth_csrf_ok(req)) {
        http_error(req, 403, "csrf_failed",
                   "missing or wrong X-CSRF-Token header (GET /api/me gives it)", NULL);
        return 0;
    }
    return 1;
}

int app_need_db(struct request *req)
{
    if (db_ensure(req->app->db) == DB_OK)
        return 0;
    log_error("database unavailable: %s", db_error(req->app->db));
    http_error(req, 503, "database_unavailable", "the database is not reachable; try again", NULL);
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
        req->route = r->pattern;
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
