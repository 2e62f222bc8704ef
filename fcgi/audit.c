#include "audit.h"

#include "app.h"
#include "auditlog.h"

int audit_write(struct request *req, const char *action, const char *target_type,
                long long target_id, long long campaign_id, json_object *detail)
{
    return auditlog_write(req->app->db, req->user, req->remote_addr, action, target_type, target_id,
                          campaign_id, detail);
}
