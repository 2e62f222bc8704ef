#include "auditlog.h"

#include "db.h"
#include "log.h"

int auditlog_write(struct db *db, const char *actor, const char *address, const char *action,
                   const char *target_type, long long target_id, long long campaign_id,
                   json_object *detail)
{
    const char *d = detail ? json_object_to_json_string_ext(
                                 detail, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                           : NULL;
    int rc = db_exec(db,
                     "INSERT INTO audit_log (actor, address, action, target_type, target_id, "
                     "campaign_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     DB_ARGS(DB_STR(actor ? actor : "anonymous"), DB_STR(address), DB_STR(action),
                             DB_STR(target_type), target_id > 0 ? DB_INT(target_id) : DB_NULL,
                             campaign_id > 0 ? DB_INT(campaign_id) : DB_NULL, DB_STR(d)),
                     NULL);
    if (rc != DB_OK)
        log_error("audit %s: %s", action, db_error(db));
    json_object_put(detail);
    return rc;
}
