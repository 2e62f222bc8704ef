#include "campaign_store.h"

#include "db.h"

/* ---- webhooks ---- */

int campaign_store_add_counts(struct db *db, long long campaign_id, const struct msg_delta *d)
{
    if (msg_delta_is_zero(d))
        return DB_OK;
    return db_exec(db,
                   "UPDATE campaigns SET pending_count = pending_count + ?, "
                   "sending_count = sending_count + ?, sent_count = sent_count + ?, "
                   "delivered_count = delivered_count + ?, read_count = read_count + ?, "
                   "failed_count = failed_count + ?, blocked_count = blocked_count + ?, "
                   "cancelled_count = cancelled_count + ?, unknown_count = unknown_count + ? "
                   "WHERE id = ?",
                   DB_ARGS(DB_INT(d->pending), DB_INT(d->sending), DB_INT(d->sent),
                           DB_INT(d->delivered), DB_INT(d->read), DB_INT(d->failed),
                           DB_INT(d->blocked), DB_INT(d->cancelled), DB_INT(d->unknown),
                           DB_INT(campaign_id)),
                   NULL);
}

int campaign_store_add_replies(struct db *db, long long campaign_id, long long n)
{
    if (n == 0)
        return DB_OK;
    return db_exec(db, "UPDATE campaigns SET replies_count = replies_count + ? WHERE id = ?",
                   DB_ARGS(DB_INT(n), DB_INT(campaign_id)), NULL);
}
