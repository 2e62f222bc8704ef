#include "audit.h"

#include "app.h"
#include "audit_log.h"
#include "db.h"
#include "log.h"

int audit_write(struct request *req, const char *action, const char *target_type,
                long long target_id, long long campaign_id, json_object *detail)
{
    int rc = audit_log_write(req->app->db, req->user ? req->user : "anonymous", req->remote_addr,
                             action, target_type, target_id, campaign_id, detail);
    if (rc != DB_OK)
        log_error("audit %s: %s", action, db_error(req->app->db));
    return rc;
}
