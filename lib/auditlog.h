/* The audit log (append-only: who did what, when, from where), written from lib/ by the
 * domain rules that must leave a record whoever triggers them (an opt-out by the webhook, the
 * worker or an operator). fcgi/audit.c (audit_write) writes through it. */
#ifndef PREGON_AUDITLOG_H
#define PREGON_AUDITLOG_H

#include <json-c/json.h>

struct db;

/* One audit row; actor NULL is "anonymous", address may be NULL, target_id/campaign_id 0 =
 * none. Takes ownership of detail (may be NULL), which must never hold secrets. Call it inside
 * the action's transaction so the action and its record commit together. Returns a db_rc. */
int auditlog_write(struct db *db, const char *actor, const char *address, const char *action,
                   const char *target_type, long long target_id, long long campaign_id,
                   json_object *detail);

#endif
