/* The audit log of operator actions (table audit_log): who, from where, what, on which object
 * and campaign, when. Rows are append-only (database triggers and grants). This is the one
 * reader (audit_log_page_json, for GET /api/audit) and the one writer of the table: pregon-fcgi
 * calls it through fcgi/audit.c (which adds the signed-in user and the client's address), pregonctl
 * directly with its own actor name. */
#ifndef PREGON_AUDIT_LOG_H
#define PREGON_AUDIT_LOG_H

#include <json-c/json.h>

struct db;

/* Writes one audit row. actor: who (never NULL: "anonymous", "pregonctl", a user's e-mail);
 * address: the client's address or NULL; target_type may be NULL; target_id/campaign_id
 * 0 = none. Takes ownership of detail (may be NULL), which must never hold secrets. Call it
 * inside the action's transaction so the action and its record commit together. Returns a
 * db_rc; the caller reports a failure (db_error()). */
int audit_log_write(struct db *db, const char *actor, const char *address, const char *action,
                    const char *target_type, long long target_id, long long campaign_id,
                    json_object *detail);

struct audit_log_query {
    long long before;   /* entries with a smaller id; 0: from the newest */
    const char *action; /* this action only, or NULL */
    const char *actor;  /* this actor only, or NULL */
    long long limit;    /* entries per page */
};

/* One page, newest first: {"entries": [{"id", "created_at", "actor", "address", "action",
 * "target_type", "target_id", "campaign_id", "detail"}], "next_before": id or null}. Returns a
 * db_rc; *out is the caller's on DB_OK. */
int audit_log_page_json(struct db *db, const struct audit_log_query *q, json_object **out);

#endif
