#include "counters.h"

#include <string.h>

#include "campaign_store.h"
#include "db.h"

int counters_apply(struct db *db, long long campaign_id, const struct msg_delta *d)
{
    return campaign_store_add_counters(db, campaign_id, d);
}

int counters_complete_if_done(struct db *db, long long campaign_id, int *completed)
{
    struct campaign_scope sc = {.kind = CSCOPE_DONE, .id = campaign_id};
    unsigned long long n = 0;
    int rc = campaign_state_apply(db, &sc, CEV_COMPLETE, CACT_WORKER, NULL, &n);
    if (rc == DB_OK && n > 0)
        /* its auto-pause window is of no more use (nothing adds to it once it stops) */
        rc = db_exec(db, "DELETE FROM campaign_health WHERE campaign_id = ?",
                     DB_ARGS(DB_INT(campaign_id)), NULL);
    if (completed)
        *completed = rc == DB_OK && n > 0;
    return rc;
}

int counters_add_minute(struct db *db, long long campaign_id, const char *outcome, long long n)
{
    if (n <= 0)
        return DB_OK;
    long long v[5] = {0};
    static const char *const names[5] = {"sent", "failed", "blocked", "retry", "unknown"};
    int k;
    for (k = 0; k < 5 && strcmp(outcome, names[k]) != 0; k++)
        ;
    if (k == 5)
        return DB_OK; /* not an outcome the chart shows */
    v[k] = n;
    return db_exec(db,
                   "INSERT INTO send_minutes (campaign_id, minute, slot, sent, failed, blocked, "
                   "retried, unknown) VALUES (?, DATE_FORMAT(NOW(), '%Y-%m-%d %H:%i:00'), ?, ?, ?, "
                   "?, ?, ?) "
                   "ON DUPLICATE KEY UPDATE sent = sent + VALUES(sent), "
                   "failed = failed + VALUES(failed), blocked = blocked + VALUES(blocked), "
                   "retried = retried + VALUES(retried), unknown = unknown + VALUES(unknown)",
                   DB_ARGS(DB_INT(campaign_id), DB_INT(db_writer_slot(db)), DB_INT(v[0]),
                           DB_INT(v[1]), DB_INT(v[2]), DB_INT(v[3]), DB_INT(v[4])),
                   NULL);
}
