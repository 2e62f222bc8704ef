/* The tier's grants (lib/tier_grant.h). The invariant: the users contact_pace counts in the
 * last 24 h plus the room in live grants never exceed the tier. */
#include "tier_grant.h"

#include "account_health.h"

int tier_grant_take(struct db *db, const char *waba_id, long long worker_id,
                    const struct tier_grant_want *want, long long *granted)
{
    *granted = 0;
    /* Expired grants of other workers are deleted, not just left out of the sum: the delete
     * is a write, so a spend from one of them at this moment on another node conflicts. */
    int rc = db_exec(db,
                     "DELETE FROM tier_grants WHERE waba_id = ? AND worker_id <> ? AND "
                     "expires_at <= NOW(3)",
                     DB_ARGS(DB_STR(waba_id), DB_INT(worker_id)), NULL);
    if (rc != DB_OK)
        return rc;
    /* The others' room first, then the count: a spend committed in between moves room from
     * the first into the second, and is counted twice, never missed. */
    struct db_rows r;
    rc = db_query(db,
                  "SELECT COALESCE(SUM(room), 0) FROM tier_grants WHERE waba_id = ? AND "
                  "worker_id <> ?",
                  DB_ARGS(DB_STR(waba_id), DB_INT(worker_id)), &r);
    if (rc != DB_OK)
        return rc;
    long long held = db_int(&r, 0, 0, 0);
    db_rows_free(&r);
    long long used;
    if ((rc = account_tier_used(db, waba_id, 0, &used)) != DB_OK)
        return rc;
    long long free_room = want->limit - used - held;
    if (free_room < want->need && held > 0) {
        /* Taken back by writing the rows: their owners' spends of it at this moment lose. */
        rc = db_exec(db,
                     "UPDATE tier_grants SET room = 0 WHERE waba_id = ? AND worker_id <> ? AND "
                     "room > 0",
                     DB_ARGS(DB_STR(waba_id), DB_INT(worker_id)), NULL);
        if (rc != DB_OK)
            return rc;
        free_room += held;
    }
    if (free_room < 0)
        free_room = 0;
    long long share = want->nworkers > 1 ? free_room / want->nworkers : free_room;
    long long g = want->chunk < share ? want->chunk : share;
    if (g < want->need)
        g = want->need;
    if (g > free_room)
        g = free_room;
    rc = db_exec(db,
                 "INSERT INTO tier_grants (waba_id, worker_id, room, expires_at) VALUES "
                 "(?, ?, ?, NOW(3) + INTERVAL ? SECOND) ON DUPLICATE KEY UPDATE "
                 "room = VALUES(room), expires_at = VALUES(expires_at)",
                 DB_ARGS(DB_STR(waba_id), DB_INT(worker_id), DB_INT(g), DB_INT(TIER_GRANT_TTL_S)),
                 NULL);
    if (rc == DB_OK)
        *granted = g;
    return rc;
}

int tier_grant_spend(struct db *db, const char *waba_id, long long worker_id, long long n, int *ok)
{
    struct db_res res = {0, 0};
    *ok = 0;
    int rc = db_exec(db,
                     "UPDATE tier_grants SET room = room - ? WHERE waba_id = ? AND "
                     "worker_id = ? AND room >= ? AND expires_at > NOW(3)",
                     DB_ARGS(DB_INT(n), DB_STR(waba_id), DB_INT(worker_id), DB_INT(n)), &res);
    if (rc == DB_OK)
        *ok = res.affected == 1;
    return rc;
}

int tier_grant_release(struct db *db, const char *waba_id, long long worker_id)
{
    return db_exec(db, "UPDATE tier_grants SET room = 0 WHERE waba_id = ? AND worker_id = ?",
                   DB_ARGS(DB_STR(waba_id), DB_INT(worker_id)), NULL);
}
