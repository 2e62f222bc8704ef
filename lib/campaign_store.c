/* The campaigns table's writes, one section per user (lib/campaign_store.h). */
#include "campaign_store.h"

#include "db.h"

/* ---- worker ---- */

/* Template pacing (worker/record.c): the template's hold, whether it is over (its time passed
 * or a status of the held message came) and until when. */
#define SQL_RUNNING                                                                                \
    "SELECT c.*, a.campaigns_enabled AS account_enabled, "                                         \
    "t.pacing_wamid AS pacing_wamid, "                                                             \
    "DATE_FORMAT(t.pacing_until, '%Y-%m-%d %H:%i UTC') AS pacing_until_text, "                     \
    "(t.pacing_until <= NOW(3) OR EXISTS (SELECT 1 FROM message_statuses m "                       \
    "WHERE m.wamid = t.pacing_wamid)) AS pacing_over "                                             \
    "FROM campaigns c JOIN wa_accounts a ON a.id = c.account_id "                                  \
    "LEFT JOIN templates t ON t.account_id = c.account_id AND "                                    \
    "t.name = c.template_name AND t.language = c.template_language "                               \
    "WHERE c.status = 'running' ORDER BY c.id"
#define SQL_INFLIGHT                                                                               \
    "SELECT id FROM campaigns WHERE sending_count <> 0 OR status = 'running' "                     \
    "ORDER BY sending_count <> 0 DESC, id LIMIT ?"
#define SQL_SET_WAIT   "UPDATE campaigns SET wait_reason = ? WHERE id = ? AND status = 'running'"
#define SQL_RAISE_RAMP "UPDATE campaigns SET ramp_step = ? WHERE id = ? AND ramp_step = ?"
#define SQL_ADD_COUNTS                                                                             \
    "UPDATE campaigns SET pending_count = pending_count + ?, "                                     \
    "sending_count = sending_count + ?, sent_count = sent_count + ?, "                             \
    "delivered_count = delivered_count + ?, read_count = read_count + ?, "                         \
    "failed_count = failed_count + ?, blocked_count = blocked_count + ?, "                         \
    "cancelled_count = cancelled_count + ?, unknown_count = unknown_count + ? "                    \
    "WHERE id = ?"
#define SQL_REOPEN                                                                                 \
    "UPDATE campaigns SET status = 'running', completed_at = NULL "                                \
    "WHERE id = ? AND status = 'completed'"

const struct sql_statement campaign_store_worker_statements[] = {
    {"campaign_store.running", SQL_RUNNING, ""},
    {"campaign_store.inflight", SQL_INFLIGHT, "i"},
    {"campaign_store.set_wait_reason", SQL_SET_WAIT, "si"},
    {"campaign_store.raise_ramp", SQL_RAISE_RAMP, "iii"},
    {"campaign_store.add_counts", SQL_ADD_COUNTS, "iiiiiiiiii"},
    {"campaign_store.reopen_completed", SQL_REOPEN, "i"},
    {NULL, NULL, NULL},
};

int campaign_store_running(struct db *db, struct db_rows *rows)
{
    return db_query(db, SQL_RUNNING, DB_NOARGS, rows);
}

int campaign_store_inflight(struct db *db, long long *ids, size_t max)
{
    struct db_rows r;
    if (db_query(db, SQL_INFLIGHT, DB_ARGS(DB_INT((long long)max)), &r) != DB_OK)
        return -1;
    size_t n = 0;
    for (; n < r.nrows && n < max; n++)
        ids[n] = db_int(&r, n, 0, 0);
    db_rows_free(&r);
    return (int)n;
}

int campaign_store_set_wait_reason(struct db *db, long long id, const char *reason)
{
    return db_exec(db, SQL_SET_WAIT,
                   DB_ARGS(reason && *reason ? DB_STR(reason) : DB_NULL, DB_INT(id)), NULL);
}

int campaign_store_raise_ramp(struct db *db, long long id, int from, int *raised)
{
    struct db_res res = {0, 0};
    int rc = db_exec(db, SQL_RAISE_RAMP, DB_ARGS(DB_INT(from + 1), DB_INT(id), DB_INT(from)), &res);
    *raised = rc == DB_OK && res.affected;
    return rc;
}

int campaign_store_add_counts(struct db *db, long long id, const struct msg_delta *d)
{
    return db_exec(db, SQL_ADD_COUNTS,
                   DB_ARGS(DB_INT(d->pending), DB_INT(d->sending), DB_INT(d->sent),
                           DB_INT(d->delivered), DB_INT(d->read), DB_INT(d->failed),
                           DB_INT(d->blocked), DB_INT(d->cancelled), DB_INT(d->unknown),
                           DB_INT(id)),
                   NULL);
}

int campaign_store_reopen_completed(struct db *db, long long id)
{
    return db_exec(db, SQL_REOPEN, DB_ARGS(DB_INT(id)), NULL);
}
