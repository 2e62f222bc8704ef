/* The audit log of operator actions, as the API writes it: lib/audit_log.h with the request's
 * user (req->user) as the actor and its client address (req->remote_addr). */
#ifndef PREGON_FCGI_AUDIT_H
#define PREGON_FCGI_AUDIT_H

#include <json-c/json.h>

#include "http.h"

/* Writes one audit row; target_id/campaign_id 0 = none. Takes ownership of detail (may be
 * NULL), which must never hold secrets. Call it inside the action's transaction so the action
 * and its record commit together. Returns a db_rc; a failure is logged. */
int audit_write(struct request *req, const char *action, const char *target_type,
                long long target_id, long long campaign_id, json_object *detail);

#endif
