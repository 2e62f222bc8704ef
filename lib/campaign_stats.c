/* Reports on one campaign (lib/campaign_stats.h). Nothing here counts recipients per request:
 * the funnel is the campaign's counters, the per-minute figures come from send_minutes. */
#include "campaign_stats.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "campaign_view.h"

#define TS CAMPAIGN_TS

/* lead_id is the CRM's (the row's lead_id column, else the contact's), never our contact id
 * that send_log keeps. */
#define LOG_COLUMNS                                                                                \
    "l.id, " TS("l.created_at") ", l.phone, COALESCE(JSON_VALUE(r.vars, '$.lead_id'), "            \
                                "k.lead_id), l.template_name, l.template_language, l.attempt, "    \
                                "l.outcome, l.http_status, l.error_code, l.error_text, l.wamid, "  \
                                "l.recipient_id FROM send_log l LEFT JOIN recipients r ON r.id = " \
                                "l.recipient_id LEFT JOIN contacts k ON k.id = r.contact_id"

int campaign_stats_log_page(struct db *db, long long id, int desc, long long after,
                            long long before, const char *outcome, long long limit,
                            struct db_rows *out)
{
    /* Two statements rather than a computed ORDER BY: each walks ix_send_log_campaign. */
    if (desc)
        return db_query(db,
                        "SELECT " LOG_COLUMNS " WHERE l.campaign_id = ? AND "
                        "(? = 0 OR l.id < ?) AND (? IS NULL OR l.outcome = ?) "
                        "ORDER BY l.id DESC LIMIT ?",
                        DB_ARGS(DB_INT(id), DB_INT(before), DB_INT(before), DB_STR(outcome),
                                DB_STR(outcome), DB_INT(limit)),
                        out);
    return db_query(
        db,
        "SELECT " LOG_COLUMNS " WHERE l.campaign_id = ? AND "
        "l.id > ? AND (? IS NULL OR l.outcome = ?) ORDER BY l.id LIMIT ?",
        DB_ARGS(DB_INT(id), DB_INT(after), DB_STR(outcome), DB_STR(outcome), DB_INT(limit)), out);
}

int campaign_stats_failed_chunk(struct db *db, long long id, const char *status,
                                const char *after_at, const char *after_phone, long long limit,
                                struct db_rows *out)
{
    /* The name and the CRM's lead id as the row gave them, else the contact's. */
    return db_query(
        db,
        "SELECT r.phone, r.status, COALESCE(JSON_VALUE(r.vars, '$.name'), "
        "JSON_VALUE(r.vars, '$.nombre'), NULLIF(k.name, '')), COALESCE(JSON_VALUE(r.vars, "
        "'$.lead_id'), k.lead_id), r.attempts, r.last_error_code, r.last_error_text, " TS(
            "r.failed_at") ", r.wamid, r.next_attempt_at FROM recipients r LEFT JOIN contacts k ON "
                           "k.id = r.contact_id WHERE r.campaign_id = ? AND r.status = ? AND "
                           "(r.next_attempt_at > ? OR (r.next_attempt_at = ? AND r.phone > ?)) "
                           "ORDER BY r.next_attempt_at, r.phone LIMIT ?",
        DB_ARGS(DB_INT(id), DB_STR(status), DB_STR(after_at), DB_STR(after_at), DB_STR(after_phone),
                DB_INT(limit)),
        out);
}

int campaign_stats_funnel(struct db *db, long long id, struct campaign_funnel *f, int *found)
{
    struct db_rows r;
    memset(f, 0, sizeof *f);
    *found = 0;
    if (db_query(db,
                 "SELECT t.total_count, t.pending_count + t.sending_count, t.sent_count, "
                 "t.delivered_count, t.read_count, t.failed_count, t.blocked_count, "
                 "t.cancelled_count, t.unknown_count, c.status, t.holdout_count "
                 "FROM campaigns c JOIN campaign_totals t ON t.id = c.id WHERE c.id = ?",
                 DB_ARGS(DB_INT(id)), &r) != DB_OK)
        return DB_ERR;
    if (r.nrows > 0) {
        *found = 1;
        f->total = db_int(&r, 0, 0, 0);
        f->pending = db_int(&r, 0, 1, 0);
        f->sent = db_int(&r, 0, 2, 0);
        f->delivered = db_int(&r, 0, 3, 0);
        f->read = db_int(&r, 0, 4, 0);
        f->failed = db_int(&r, 0, 5, 0);
        f->blocked = db_int(&r, 0, 6, 0);
        f->cancelled = db_int(&r, 0, 7, 0);
        f->unknown = db_int(&r, 0, 8, 0);
        f->holdout = db_int(&r, 0, 10, 0);
        snprintf(f->status, sizeof f->status, "%s", db_val(&r, 0, 9) ? db_val(&r, 0, 9) : "");
    }
    db_rows_free(&r);
    return DB_OK;
}

int campaign_stats_failures_by_code(struct db *db, long long id, struct db_rows *out)
{
    /* Only the failed and blocked recipients are read (index range). */
    return db_query(db,
                    "SELECT last_error_code, status, COUNT(*), MAX(last_error_text) FROM "
                    "recipients WHERE campaign_id = ? AND status IN ('failed', 'blocked') GROUP "
                    "BY last_error_code, status ORDER BY COUNT(*) DESC",
                    DB_ARGS(DB_INT(id)), out);
}

int campaign_stats_per_minute(struct db *db, long long id, long long minutes, struct db_rows *out)
{
    return db_query(db,
                    "SELECT * FROM (SELECT DATE_FORMAT(minute, '%Y-%m-%dT%H:%i:00Z') AS m, "
                    "SUM(sent) AS sent, SUM(failed) AS failed, SUM(blocked) AS blocked, "
                    "SUM(retried) AS retried, SUM(unknown) AS unknown, minute FROM send_minutes "
                    "WHERE campaign_id = ? GROUP BY minute ORDER BY minute DESC LIMIT ?) x "
                    "ORDER BY minute",
                    DB_ARGS(DB_INT(id), DB_INT(minutes)), out);
}

int campaign_stats_rejected_rows(struct db *db, long long id, long long *imports,
                                 long long *rejected, json_object **by_reason)
{
    struct db_rows r;
    *imports = *rejected = 0;
    *by_reason = json_object_new_object();
    if (db_query(db,
                 "SELECT rejected_by_reason, rejected FROM audience_imports WHERE campaign_id = ?",
                 DB_ARGS(DB_INT(id)), &r) != DB_OK)
        return DB_ERR;
    for (size_t i = 0; i < r.nrows; i++) {
        *rejected += db_int(&r, i, 1, 0);
        const char *text = db_val(&r, i, 0);
        json_object *m = text ? json_tokener_parse(text) : NULL;
        if (!m)
            continue;
        json_object_object_foreach(m, k, v)
        {
            json_object *cur;
            long long add = json_object_get_int64(v);
            if (json_object_object_get_ex(*by_reason, k, &cur))
                json_object_set_int64(cur, json_object_get_int64(cur) + add);
            else
                json_object_object_add(*by_reason, k, json_object_new_int64(add));
        }
        json_object_put(m);
    }
    *imports = (long long)r.nrows;
    db_rows_free(&r);
    return DB_OK;
}

int campaign_stats_audit_page(struct db *db, long long id, long long before, long long limit,
                              struct db_rows *out)
{
    return db_query(db,
                    "SELECT id, " TS("created_at") ", actor, address, action, target_type, "
                                                   "target_id, detail FROM audit_log WHERE "
                                                   "campaign_id = ? AND id < ? ORDER BY id DESC "
                                                   "LIMIT ?",
                    DB_ARGS(DB_INT(id), DB_INT(before), DB_INT(limit)), out);
}
