/* The one writer of the campaigns table's rows: see campaign_store.h. */
#include "campaign_store.h"

#include "db.h"

/* ---- recipients and imports ---- */

int campaign_store_add_recipients(struct db *db, long long campaign_id, long long n)
{
    return db_exec(db,
                   "UPDATE campaigns SET total_count = total_count + ?, "
                   "pending_count = pending_count + ? WHERE id = ?",
                   DB_ARGS(DB_INT(n), DB_INT(n), DB_INT(campaign_id)), NULL);
}

int campaign_store_clear_recipients(struct db *db, long long campaign_id)
{
    int rc = db_exec(db, "DELETE FROM recipients WHERE campaign_id = ?",
                     DB_ARGS(DB_INT(campaign_id)), NULL);
    if (rc != DB_OK)
        return rc;
    return db_exec(db,
                   "UPDATE campaigns SET total_count = 0, pending_count = 0, sending_count = 0, "
                   "sent_count = 0, delivered_count = 0, read_count = 0, failed_count = 0, "
                   "blocked_count = 0, cancelled_count = 0, unknown_count = 0 WHERE id = ?",
                   DB_ARGS(DB_INT(campaign_id)), NULL);
}
